# syntax=docker/dockerfile:1
# The dashboard as one container: `docker build -t afs-dashboard .`, then run it with the data
# dir mounted at /data and AFS_API_TOKEN set (it listens on 0.0.0.0 and refuses to start without one).

FROM node:20-bookworm-slim AS build
# better-sqlite3 falls back to compiling its addon when no prebuilt binary can be downloaded.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NEXT_TELEMETRY_DISABLED=1
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build
# Fail here, not at first request, if the traced server lacks the addon or pg.
RUN cd .next/standalone && node -e "new (require('better-sqlite3'))(':memory:').close(); require('pg')"

# Same base as the build stage, so the compiled addon matches its glibc and Node ABI.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
  NEXT_TELEMETRY_DISABLED=1 \
  HOST=0.0.0.0 \
  PORT=3000 \
  AFS_DATA_DIR=/data \
  AFS_DB=/var/lib/afs/afs.db
# The data dir may be mounted read-only, so the SQLite store lives on its own volume; with
# DATABASE_URL set it stays unused. The `node` user (uid 1000) comes with the image.
RUN mkdir -p /data /var/lib/afs && chown node:node /var/lib/afs
# serve.mjs imports ../.next/standalone/server.js, so both keep their places under /app.
# Owned by root: the server only reads its own files.
COPY --from=build /app/.next/standalone ./.next/standalone
COPY --from=build /app/scripts/serve.mjs ./scripts/serve.mjs
USER node
VOLUME /var/lib/afs
EXPOSE 3000
# /api/health needs the viewer token when one is set. 503 (store unreadable) counts as unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const t=process.env.AFS_VIEWER_TOKEN;fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/api/health',{headers:t?{authorization:'Bearer '+t}:{}}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "scripts/serve.mjs"]
