# syntax=docker/dockerfile:1
# The one image of lienthong: hub and edges run it with the same commands as anywhere else,
#   docker run ... lienthong hub --config /etc/lienthong/hub.json
#   docker run ... lienthong edge --config /etc/lienthong/edge.json
# Configuration, identity and trust files are mounted (read-only); secrets come as files
# (compose secrets: AMQP_URL_FILE, LT_MANAGEMENT_PASSWORD_FILE), data goes to a volume.

# --- build: compile TypeScript with the development dependencies ---------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Scripts off: "prepare" would compile before the sources are here; better-sqlite3's own build
# is the runtime stage's business.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p .

# --- deps: the runtime dependencies only, better-sqlite3's native module built for this Node -----
FROM node:20-bookworm-slim AS deps
# Only used when no prebuilt better-sqlite3 binary matches this Node and architecture.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 \
 && npm cache clean --force

# --- runtime ---------------------------------------------------------------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production
# glibc's allocator keeps freed memory for reuse instead of unmapping every block over 32 MiB
# at once and mapping fresh pages for the next packet (README, "Memory allocator").
ENV GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY schemas ./schemas
# Data (SQLite, blobs) in a volume the unprivileged user owns; never the image's layers.
# /run/lienthong: where docker-compose.yml hands each edge the AMQP URL provisioned for it.
RUN mkdir -p /var/lib/lienthong /run/lienthong && chown node:node /var/lib/lienthong /run/lienthong
VOLUME ["/var/lib/lienthong"]
# The node image's unprivileged user (uid 1000).
USER node
# The edge's REST API /health, or the hub dashboard's: always 200 while the process serves
# (degraded or not: a degraded node heals by itself, restarting it would not help).
ENV LT_HEALTH_URL=http://127.0.0.1:8081/health
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.LT_HEALTH_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/bin/lienthong.js"]
CMD ["--help"]
