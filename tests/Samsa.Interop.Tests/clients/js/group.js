// kafkajs as a member of a consumer group (kafkajs can only consume through a group):
//   node group.js BOOTSTRAP TOPIC GROUP COUNT
// Reads COUNT messages from the group's committed offsets (earliest when none), prints them as JSON lines
// {"partition", "offset", "value": b64}, commits each one's next offset, then leaves the group.
const { Kafka, logLevel } = require('kafkajs');

(async () => {
  const [, , broker, topic, group, count] = process.argv;
  const want = Number(count);
  const kafka = new Kafka({ clientId: 'samsa-kafkajs', brokers: [broker], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10000, heartbeatInterval: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let seen = 0;
  let done;
  const finished = new Promise(resolve => { done = resolve; });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      if (seen >= want) return;
      console.log(JSON.stringify({ partition, offset: Number(message.offset), value: message.value === null ? null : message.value.toString('base64') }));
      await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
      seen += 1;
      if (seen >= want) done();
    },
  });
  const timeout = setTimeout(() => done(), 30000);
  await finished;
  clearTimeout(timeout);
  await consumer.disconnect();
  if (seen < want) throw new Error(`only ${seen} of ${want} messages arrived`);
})().catch(e => { console.error(e); process.exit(1); });
