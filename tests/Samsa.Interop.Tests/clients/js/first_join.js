// kafkajs's first consumer-group join on a fresh broker, with client retries switched off:
//   node first_join.js BOOTSTRAP TOPIC GROUP
// Joins GROUP (the broker creates __consumer_offsets on this first FindCoordinator), reads one message, commits it
// and leaves. With retries 0 any retriable error on the way (COORDINATOR_LOAD_IN_PROGRESS from a coordinator named
// before its partition loaded) fails the run; prints {"joined": true, "offset": N} on success.
const { Kafka, logLevel } = require('kafkajs');

(async () => {
  const [, , broker, topic, group] = process.argv;
  const kafka = new Kafka({ clientId: 'samsa-first-join', brokers: [broker], logLevel: logLevel.ERROR, retry: { retries: 0 } });
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10000, heartbeatInterval: 1000, retry: { retries: 0 } });
  let failed;
  consumer.on(consumer.events.CRASH, e => { failed = e.payload.error; });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let done;
  const finished = new Promise(resolve => { done = resolve; });
  let offset = -1;
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
      offset = Number(message.offset);
      done();
    },
  });
  const timeout = setTimeout(() => done(), 30000);
  await finished;
  clearTimeout(timeout);
  await consumer.disconnect();
  if (failed) throw failed;
  if (offset < 0) throw new Error('no message arrived');
  console.log(JSON.stringify({ joined: true, offset }));
})().catch(e => { console.error(String(e && e.stack || e)); process.exit(1); });
