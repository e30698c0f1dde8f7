# One image for every Hades role: `docker run IMAGE all|api|bridge|worker` (see docker/entrypoint.sh).
# Builds with the classic builder and with BuildKit. Where no registry can be pulled from,
# scripts/build-hades-image.sh builds a local Node base first and passes it as BASE_IMAGE.
ARG BASE_IMAGE=node:24-bookworm-slim

# --- build: all dependencies, tsc to dist/, the workflow bundle (dist/workflow-bundle.js) ------
FROM ${BASE_IMAGE} AS build
ENV NPM_CONFIG_AUDIT=false NPM_CONFIG_FUND=false NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_LOGLEVEL=error
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build-workflow-bundle.mjs scripts/
COPY src src
RUN npm run build

# --- production dependencies only (own stage: a code change does not re-run it) -------------
FROM ${BASE_IMAGE} AS deps
ENV NPM_CONFIG_AUDIT=false NPM_CONFIG_FUND=false NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_LOGLEVEL=error
WORKDIR /app
COPY package.json package-lock.json ./
# Temporal's core bridge ships its native library for five platforms (~140 MB): keep this one's.
RUN npm ci --omit=dev \
 && keep=$(node -p "require('./node_modules/@temporalio/core-bridge/common.js').getPrebuiltTargetName()") \
 && find node_modules/@temporalio/core-bridge/releases -mindepth 1 -maxdepth 1 ! -name "$keep" -exec rm -rf {} + \
 && test -f "node_modules/@temporalio/core-bridge/releases/$keep/index.node"

# --- runtime -----------------------------------------------------------------------------------
FROM ${BASE_IMAGE}
RUN groupadd --gid 10001 hades \
 && useradd --uid 10001 --gid hades --home-dir /app --no-create-home --shell /usr/sbin/nologin hades
WORKDIR /app
ENV NODE_ENV=production
COPY package.json ./
COPY --from=deps /app/node_modules node_modules
COPY docker/entrypoint.sh docker/healthcheck.mjs docker/
COPY --from=build /app/dist dist
USER hades:hades
EXPOSE 8080
# The API role: GET /healthz. Bridge and worker have no HTTP server: healthy while Hades runs.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "/app/docker/healthcheck.mjs"]
# No argument: HADES_ROLES from the environment (default all roles).
ENTRYPOINT ["/app/docker/entrypoint.sh"]
