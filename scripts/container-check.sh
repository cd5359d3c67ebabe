#!/usr/bin/env bash
# container-check.sh builds the container image with podman and runs `serve` in it with the
# image's HEALTHCHECK, on the container's own loopback (--network none: nothing leaves it).
#
#   scripts/container-check.sh
#
# When the base images (docker.io golang, gcr.io distroless) cannot be pulled — no registry
# access — it checks the runtime stage alone: the same layout (static binary, /var/lib/smbsweep
# owned by 65532, USER, VOLUME, EXPOSE, HEALTHCHECK; lines copied from the Dockerfile's runtime
# stage) on `scratch` with a locally built binary. Set PODMAN_RUNTIME=runc where crun refuses
# the host's cgroups (hybrid cgroup v1/v2), and CONTAINERS_CONF to a file with
# "[containers] default_ulimits = []" where the build sandbox may not raise rlimits.
set -euo pipefail
cd "$(dirname "$0")/.."
runtime=(); [ -n "${PODMAN_RUNTIME:-}" ] && runtime=(--runtime "$PODMAN_RUNTIME")
tag=localhost/smbsweep:check
if podman build --format docker -t "$tag" . ; then
	echo "container-check: built the image from the Dockerfile"
else
	echo "container-check: the Dockerfile's build failed (base images unreachable?); checking the runtime stage on scratch"
	ctx="$(mktemp -d)"; trap 'rm -rf "$ctx"' EXIT
	CGO_ENABLED=0 go build -trimpath -o "$ctx/smbsweep" ./cmd/smbsweep
	mkdir -m 0750 "$ctx/data"
	{
		echo "FROM scratch"
		echo "COPY smbsweep /smbsweep"
		echo "COPY --chown=65532:65532 data /var/lib/smbsweep"
		# The runtime stage's own lines, continuations joined.
		sed -n '/^FROM gcr.io\/distroless/,$p' Dockerfile | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' |
			grep -E '^(USER|WORKDIR|VOLUME|EXPOSE|HEALTHCHECK|ENTRYPOINT|CMD)' | sed 's/^USER nonroot:nonroot/USER 65532:65532/'
	} > "$ctx/Containerfile"
	podman build --format docker -t "$tag" "$ctx"
fi
cfg="$(mktemp)"
printf 'listen: 127.0.0.1:9445\noutput_dir: /var/lib/smbsweep\njobs:\n  - name: local\n    targets: [127.0.0.1]\n    schedule: "@every 1h"\n' > "$cfg"
chmod 0644 "$cfg"
cid="$(podman run -d --network none "${runtime[@]}" -v "$cfg:/etc/smbsweep/smbsweep.yml:ro" "$tag" serve -config /etc/smbsweep/smbsweep.yml)"
cleanup() { podman rm -f "$cid" >/dev/null 2>&1 || true; rm -f "$cfg"; }
trap cleanup EXIT
for _ in $(seq 1 20); do podman healthcheck run "$cid" >/dev/null 2>&1 && break; sleep 0.5; done
podman healthcheck run "$cid"
echo "container-check: HEALTHCHECK healthy; $(podman exec "$cid" /smbsweep version) running as user $(podman inspect --format '{{.Config.User}}' "$cid")"
podman inspect --format 'volumes {{.Config.Volumes}} exposed {{.Config.ExposedPorts}}' "$tag" 2>/dev/null || podman image inspect --format 'volumes {{.Config.Volumes}} exposed {{.Config.ExposedPorts}}' "$tag"
