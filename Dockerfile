# syntax=docker/dockerfile:1
# SyncScope's images (docs/images.md), one target each, all running compiled JavaScript as a non-root user:
#   docker build --target agent   -t syncscope/agent .    the `syncscope` CLI and probe agent (:9464)
#   docker build --target console -t syncscope/console .  the console, Next's standalone server (:3000)
#   docker build --target demo    -t syncscope/demo .     the demo backend (:8000) and compose's setup job
# Build stages hold the compilers (native modules) and dev dependencies; runtime stages get neither.

ARG NODE_IMAGE=node:20-bookworm-slim

# Manifests only, so dependency layers are rebuilt only when they change.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY core/package.json core/
COPY demo/package.json demo/
COPY powersync/package.json powersync/
COPY agent/package.json agent/
COPY agent/bin agent/bin
COPY dashboard/package.json dashboard/
COPY reporter/package.json reporter/

FROM manifests AS toolchain
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*

# Everything, compiled: `npm ci` builds agent/dist and demo/dist (its prepare: npm run build), then the
# console (next build) is assembled from its standalone output.
FROM toolchain AS build
COPY . .
RUN npm ci && NEXT_TELEMETRY_DISABLED=1 npm run build -w dashboard \
  && node scripts/assemble-console.mjs /console

# Production dependencies of one workspace (its native modules built here, with the compilers).
# --include-workspace-root=false: the root's `prepare` (the build) does not run without dev dependencies.
FROM toolchain AS agent-deps
RUN npm ci --omit=dev --workspace=agent --include-workspace-root=false && rm -rf node_modules/@syncscope

FROM toolchain AS demo-deps
RUN npm ci --omit=dev --workspace=demo --include-workspace-root=false && rm -rf node_modules/@syncscope

FROM ${NODE_IMAGE} AS runtime
# SYNCSCOPE_HOME: the one place SyncScope may write (the code under /app is read-only to the user).
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1 SYNCSCOPE_HOME=/home/node/.syncscope
WORKDIR /app
# The image's `node` user (uid 1000) owns nothing here: the code is read-only to it.
USER node

FROM runtime AS agent
COPY --from=agent-deps /app/node_modules node_modules
COPY --from=agent-deps /app/agent/node_modules agent/node_modules
COPY --from=build /app/agent/dist agent/dist
COPY --from=build /app/agent/bin agent/bin
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/agent/dist/syncscope.mjs"]
CMD ["agent", "--host", "0.0.0.0", "--port", "9464"]

FROM runtime AS console
COPY --from=build /console /app
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:3000/login').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "/app/dashboard/server.mjs", "-p", "3000", "-H", "0.0.0.0"]

FROM runtime AS demo
# The demo backend writes its signing key to DEMO_KEYS_DIR (compose mounts a volume there): a new volume
# takes this folder's owner.
USER root
RUN mkdir /keys && chown node:node /keys
USER node
COPY --from=demo-deps /app/node_modules node_modules
COPY --from=build /app/demo/dist demo/dist
COPY powersync/sync_rules.yaml powersync/sync_rules.yaml
ENV SYNCSCOPE_SETUP_SYNC_RULES_FILE=/app/powersync/sync_rules.yaml
EXPOSE 8000
CMD ["node", "/app/demo/dist/demo-backend.mjs"]
# compose's setup job: node /app/demo/dist/compose-setup.mjs
