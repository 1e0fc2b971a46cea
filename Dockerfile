# lti-certificates: Node 20 on Debian (bookworm) with Debian's Chromium and fonts, run as the
# unprivileged `node` user. Nothing is downloaded at run time: puppeteer uses /usr/bin/chromium,
# mongodb-memory-server never fetches a mongod (production sets MONGODB_URI).
# Build: docker build -t lti-certificates .   Run: see compose.yaml and docs/deploy.md.
FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    PUPPETEER_SKIP_DOWNLOAD=1 \
    MONGOMS_DISABLE_POSTINSTALL=1 \
    PUPPETEER_EXECUTABLE_PATH=/usr/bin/chromium \
    CHROMIUM_PATH=/usr/bin/chromium \
    PORT=3000 \
    HOST=0.0.0.0 \
    DATA_DIR=/data \
    PLATFORM_CONFIG_DIR=/app/platform-config

# Chromium renders the PDFs; the certificate fonts ship as npm packages (@fontsource), these
# Debian fonts cover every other script a learner's name can be written in (Latin, Greek,
# Cyrillic, Arabic, Hebrew, Indic, CJK) and emoji. tini reaps Chromium's children and forwards
# SIGTERM, so that a stopping container hands its running export back to the queue.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      chromium tini ca-certificates \
      fonts-dejavu-core fonts-liberation fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
# tsx (a dependency, not a dev dependency) runs the TypeScript sources as they are
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY src ./src
COPY templates ./templates
COPY platform-config ./platform-config

RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000

# Ready = the database answers (GET /readyz); /healthz only says the process runs.
HEALTHCHECK --interval=15s --timeout=5s --start-period=40s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "src/main.ts"]
