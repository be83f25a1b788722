#!/usr/bin/env bash
# Make sure the local Docker daemon has the base image the Dockerfile starts
# from (debian:bookworm-slim). Where no registry can be reached, build an
# equivalent locally: a minbase `debootstrap bookworm` from the Debian archive
# this machine uses, trimmed the way Debian's slim images are, `docker import`ed.
#
#   tools/docker-base-image.sh            nothing to do if the tag exists, else build it
#   tools/docker-base-image.sh --force    rebuild even if the tag exists
#   tools/docker-base-image.sh --pull     try `docker pull` first (needs a registry)
#
# Environment: DEBIAN_MIRROR (default: the first Debian URI in /etc/apt, else
# http://deb.debian.org/debian), DEBIAN_SECURITY_MIRROR, BASE_IMAGE_TAG.
# Needs root (debootstrap) and the debootstrap package (installed if missing).
set -euo pipefail

TAG="${BASE_IMAGE_TAG:-debian:bookworm-slim}"
SUITE=bookworm
force=0 pull=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --pull) pull=1 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "docker-base-image: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

if ((!force)) && docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "docker-base-image: $TAG present"
  exit 0
fi
if ((pull)) && timeout 120 docker pull "$TAG"; then
  exit 0
fi

if ((EUID != 0)); then
  echo "docker-base-image: building $TAG needs root (debootstrap)" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 install -y --no-install-recommends \
    debootstrap >/dev/null
fi

# The archive this machine already installs from (deb822 or one-line form).
first_uri() {
  local pattern="$1"
  grep -hsE "^(URIs:|deb )" /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
      /etc/apt/sources.list.d/*.list 2>/dev/null |
    grep -oE 'https?://[^ ]+' | grep -E "$pattern" | head -n1
}
MIRROR="${DEBIAN_MIRROR:-$(first_uri '/debian/?$' || true)}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
SECURITY="${DEBIAN_SECURITY_MIRROR:-$(first_uri '/debian-security/?$' || true)}"
SECURITY="${SECURITY:-http://deb.debian.org/debian-security}"

work="$(mktemp -d /tmp/samsa-base-image.XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"

echo "docker-base-image: debootstrap --variant=minbase $SUITE from $MIRROR"
if ! debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1; then
  tail -n 30 "$work/debootstrap.log" >&2
  echo "docker-base-image: debootstrap failed" >&2
  exit 1
fi

# What Debian's official slim images set up (debuerreotype): the three suites
# in deb822 form, no documentation or man pages installed, no apt cache kept,
# no package lists in the image, no recommends.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
DPKG
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
printf 'APT::Install-Recommends "false";\n' >"$root/etc/apt/apt.conf.d/docker-no-recommends"
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
       "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
       "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/tmp/* "$root"/root/.bash_history
: >"$root/etc/machine-id"
# A container gets its hostname and resolver from Docker.
rm -f "$root/etc/hostname" "$root/etc/resolv.conf"

echo "docker-base-image: importing as $TAG"
tar -C "$root" --numeric-owner -c . |
  docker import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' \
    --message "debootstrap --variant=minbase $SUITE ($MIRROR), trimmed like Debian's slim images" - "$TAG" >/dev/null
docker image ls "$TAG"
