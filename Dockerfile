# syntax=docker/dockerfile:1
# Build stage: cgo is required by mattn/go-sqlite3; the FTS5 tag enables
# SQLite's full-text search used by the market.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -tags sqlite_fts5 -trimpath -ldflags "-s -w" -o /out/coopfed ./cmd/coopfed

# Runtime stage: a small Debian image (glibc for the cgo binary), CA
# certificates for https federation, a non-root user and a data volume.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin coopfed \
 && mkdir -p /data && chown coopfed /data
COPY --from=build /out/coopfed /usr/local/bin/coopfed
USER coopfed
WORKDIR /data
VOLUME /data
ENV COOPFED_ADDR=0.0.0.0:8080 \
    COOPFED_DB=/data/coopfed.db
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["coopfed", "healthcheck"]
ENTRYPOINT ["coopfed"]
CMD ["serve"]
