# Sourced by the scripts: installs Debian packages that are missing, so each script works
# on a fresh Debian 12 machine (root) and says what it installs.
#
#   install_packages PACKAGE...   installs those not installed (apt-get update once if the
#                                 package lists are missing or the install fails)

install_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    command -v apt-get >/dev/null || { echo "missing packages (install them): ${missing[*]}" >&2; return 1; }
    [[ $EUID -eq 0 ]] || { echo "missing packages (install them as root): ${missing[*]}" >&2; return 1; }
    echo "installing packages: ${missing[*]}" >&2
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends
               -o DPkg::Lock::Timeout=600 "${missing[@]}")
    if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null || ! "${apt[@]}" >/dev/null; then
        apt-get update -qq -o DPkg::Lock::Timeout=600
        "${apt[@]}" >/dev/null
    fi
}
