#!/usr/bin/env bash
# Kafka's kafka-verifiable-producer.sh on Samsa: same flags, same JSON event lines. See `samsa verifiable-producer --help`.
exec "$(dirname "${BASH_SOURCE[0]}")/samsa-run" samsa verifiable-producer "$@"
