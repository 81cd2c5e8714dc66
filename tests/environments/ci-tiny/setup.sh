# Runs inside the new root, as root, after the packages.
echo "built by setup.sh" > /etc/ci-tiny-marker
