#!/usr/bin/env bash
# Kafka's kafka-console-producer.sh on Samsa: same flags, same output. See `samsa console-producer --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa console-producer "$@"
