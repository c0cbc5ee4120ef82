#!/usr/bin/env bash
# Kafka's kafka-run-class.sh on Samsa, for the command lines Kafka's docs still show
# (`kafka-run-class.sh kafka.tools.DumpLogSegments --files ...`): the tool classes Samsa has map to their samsa
# sub-commands; any other class answers as java does for a class it cannot find.
here="$(dirname "${BASH_SOURCE[0]}")"
if [ $# -lt 1 ]; then
  echo "USAGE: $0 [-daemon] [-name servicename] [-loggc] classname [opts]" >&2
  exit 1
fi
class="$1"; shift
case "$class" in
  kafka.tools.DumpLogSegments|org.apache.kafka.tools.DumpLogSegments) tool=dump-log ;;
  kafka.tools.GetOffsetShell|org.apache.kafka.tools.GetOffsetShell) tool=get-offsets ;;
  kafka.admin.TopicCommand|org.apache.kafka.tools.TopicCommand) tool=topics ;;
  kafka.admin.ConfigCommand|org.apache.kafka.tools.ConfigCommand) tool=configs ;;
  kafka.admin.ConsumerGroupCommand|org.apache.kafka.tools.consumer.group.ConsumerGroupCommand) tool=consumer-groups ;;
  kafka.admin.DeleteRecordsCommand|org.apache.kafka.tools.DeleteRecordsCommand) tool=delete-records ;;
  kafka.admin.BrokerApiVersionsCommand|org.apache.kafka.tools.BrokerApiVersionsCommand) tool=broker-api-versions ;;
  kafka.tools.StorageTool) tool=storage ;;
  kafka.tools.ConsoleProducer|org.apache.kafka.tools.ConsoleProducer) tool=console-producer ;;
  kafka.tools.ConsoleConsumer|org.apache.kafka.tools.consumer.ConsoleConsumer) tool=console-consumer ;;
  kafka.tools.ProducerPerformance|org.apache.kafka.tools.ProducerPerformance) tool=producer-perf-test ;;
  kafka.tools.ConsumerPerformance|org.apache.kafka.tools.ConsumerPerformance) tool=consumer-perf-test ;;
  kafka.tools.EndToEndLatency|org.apache.kafka.tools.EndToEndLatency) tool=end-to-end-latency ;;
  org.apache.kafka.tools.VerifiableProducer) tool=verifiable-producer ;;
  org.apache.kafka.tools.VerifiableConsumer) tool=verifiable-consumer ;;
  org.apache.kafka.tools.TransactionsCommand) tool=transactions ;;
  kafka.admin.AclCommand|org.apache.kafka.tools.AclCommand) tool=acls ;;
  kafka.Kafka) exec "$here/samsa-run" samsa-server "$@" ;;
  *)
    echo "Error: Could not find or load main class $class" >&2
    echo "Caused by: java.lang.ClassNotFoundException: $class" >&2
    exit 1 ;;
esac
exec "$here/samsa-run" samsa "$tool" "$@"
