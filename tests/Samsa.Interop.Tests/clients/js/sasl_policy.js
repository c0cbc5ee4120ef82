// kafkajs over SASL_SSL with SCRAM-SHA-512: node sasl_policy.js BOOTSTRAP CA_FILE USER PASSWORD ALLOWED_TOPIC FORBIDDEN_TOPIC GROUP
// Produces one record to ALLOWED_TOPIC and tries FORBIDDEN_TOPIC, lists topics, and reads ALLOWED_TOPIC in GROUP.
// Prints one JSON line: {"produced":true,"forbidden":"<kafkajs error type>","topics":[...],"read":"<first value read>"}.
const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

(async () => {
  const [, , broker, caFile, username, password, allowed, forbidden, groupId] = process.argv;
  const kafka = new Kafka({
    clientId: 'samsa-kafkajs-sasl', brokers: [broker], logLevel: logLevel.NOTHING,
    ssl: { ca: [fs.readFileSync(caFile, 'utf-8')] },
    sasl: { mechanism: 'scram-sha-512', username, password },
    retry: { retries: 2 },
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  await producer.send({ topic: allowed, messages: [{ value: `from kafkajs as ${username}` }] });
  let forbiddenType = 'none';
  try {
    await producer.send({ topic: forbidden, messages: [{ value: 'must be refused' }] });
  } catch (error) {
    // kafkajs wraps the broker's error (retries exhausted, non-retriable): the first .type down the cause chain.
    for (let e = error; e && forbiddenType === 'none'; e = e.cause || e.originalError) {
      if (e.type) forbiddenType = e.type;
    }
    if (forbiddenType === 'none') forbiddenType = `${error.name}: ${error.message}`;
  }
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter(t => !t.startsWith('__')).sort();
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic: allowed, fromBeginning: true });
  const read = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, 15000);
    consumer.run({ eachMessage: async ({ message }) => {
      read.push(message.value.toString());
      if (read.length >= 1) { clearTimeout(timer); resolve(); }
    } }).catch(reject);
  });
  await consumer.disconnect();
  console.log(JSON.stringify({ produced: true, forbidden: forbiddenType, topics, read: read.length > 0 ? read[0] : null }));
})().catch(error => {
  console.error(error);
  process.exit(1);
});
