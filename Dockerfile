# One image for SyncScope's Node services: demo backend, seed job, probe agent and console.
FROM node:20-bookworm-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY core/package.json core/
COPY demo/package.json demo/
COPY powersync/package.json powersync/
COPY agent/package.json agent/
COPY dashboard/package.json dashboard/
COPY reporter/package.json reporter/
RUN npm ci
COPY . .
ENV NODE_ENV=production
CMD ["npx", "tsx", "demo/src/backend/main.ts"]
