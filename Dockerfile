# syntax=docker/dockerfile:1
#
#   podman build --format docker -t smbsweep .      (or: docker build -t smbsweep .)
#   podman run --rm smbsweep scan -text 192.0.2.10
#   podman run -d -p 9445:9445 -v smbsweep-data:/var/lib/smbsweep \
#     -v ./smbsweep.yml:/etc/smbsweep/smbsweep.yml:ro smbsweep serve -config /etc/smbsweep/smbsweep.yml
#
# --format docker keeps HEALTHCHECK (the OCI image format has no such field). docs/DAEMON.md
# ("Container image") says what was checked on a machine with podman.

# Build: a static binary (no cgo), reproducible paths.
FROM docker.io/library/golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/smbsweep ./cmd/smbsweep
# The output directory of the runtime image, created here because the runtime has no shell.
RUN mkdir -p /out/data && chmod 0750 /out/data

# Runtime: no shell, no package manager, runs as uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/smbsweep /smbsweep
# Results, checkpoints and serve's runs go to /var/lib/smbsweep (serve's default output_dir),
# owned by nonroot so that the scanner can write there; a volume, so they outlive the container.
COPY --from=build --chown=65532:65532 /out/data /var/lib/smbsweep
USER nonroot:nonroot
WORKDIR /var/lib/smbsweep
VOLUME ["/var/lib/smbsweep"]
# serve's API, /metrics and /probe (listen: 0.0.0.0:9445 in the container's config; a
# non-loopback listener needs api.token_file).
EXPOSE 9445
# For serve: asks /-/healthy on loopback (no shell or curl here, so the binary asks). A scan
# container has no daemon to ask: run it with --no-healthcheck (Kubernetes ignores HEALTHCHECK
# and uses the probes of configs/kubernetes/serve-deployment.yaml).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/smbsweep", "health", "-url", "http://127.0.0.1:9445/-/healthy", "-timeout", "4s"]
ENTRYPOINT ["/smbsweep"]
CMD ["help"]
