// kafkajs as an idempotent producer: node idempotent.js BOOTSTRAP TOPIC COUNT
// Produces COUNT records, key "k{i}" and value "{i}", with idempotent: true and maxInFlightRequests: 1 (kafkajs refuses
// idempotence with more in flight), acks -1 (which kafkajs requires of an idempotent producer), spread over the
// topic's partitions by kafkajs's default partitioner, 100 records per send. Prints {"produced": N}.
const { Kafka, logLevel } = require('kafkajs');

(async () => {
  const [, , broker, topic, countArg] = process.argv;
  const count = Number(countArg);
  const kafka = new Kafka({ clientId: 'samsa-kafkajs-idempotent', brokers: [broker], logLevel: logLevel.WARN });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  let produced = 0;
  for (let start = 0; start < count; start += 100) {
    const messages = [];
    for (let i = start; i < Math.min(count, start + 100); i++) {
      messages.push({ key: `k${i}`, value: String(i) });
    }
    await producer.send({ topic, acks: -1, messages });
    produced += messages.length;
  }
  await producer.disconnect();
  console.log(JSON.stringify({ produced }));
})().catch(error => {
  console.error(error);
  process.exit(1);
});
