-- Databases beside `app`: the sync service's bucket storage and SyncScope's own data.
CREATE DATABASE powersync_storage;
CREATE DATABASE syncscope;
