// kafkajs as producer or consumer, speaking the same JSON lines as the other interop clients:
//   node io.js produce BOOTSTRAP TOPIC CODEC   (CODEC: none, gzip, snappy, lz4 or zstd) reads messages from stdin
//   node io.js consume BOOTSTRAP TOPIC COUNT   prints COUNT messages of partition 0 from the beginning
// A message line: {"key": b64|null, "value": b64|null, "headers": [[name, b64]], "timestamp": ms|null}; consumed
// lines add "partition" and "offset". kafkajs can only read through a consumer group, so it consumes as the only
// member of a fresh group.
const readline = require('readline');
const { Kafka, CompressionTypes, CompressionCodecs, logLevel } = require('kafkajs');
const registerCodecs = require('./codecs');

const b64 = text => (text === null ? null : Buffer.from(text, 'base64'));
const toB64 = buffer => (buffer === null || buffer === undefined ? null : Buffer.from(buffer).toString('base64'));

async function produce(kafka, topic, codec) {
  const compression = {
    none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy,
    lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD,
  }[codec];
  if (compression === undefined) throw new Error(`unknown codec ${codec}`);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const lines = [];
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line.trim()) lines.push(JSON.parse(line));
  }
  for (const m of lines) {
    await producer.send({
      topic,
      acks: -1,
      compression,
      messages: [{
        partition: 0,
        key: b64(m.key),
        value: b64(m.value),
        headers: Object.fromEntries(m.headers.map(([name, value]) => [name, b64(value)])),
        timestamp: m.timestamp === null ? undefined : String(m.timestamp),
      }],
    });
  }
  await producer.disconnect();
  console.log(JSON.stringify({ produced: lines.length }));
}

async function consume(kafka, topic, count) {
  const consumer = kafka.consumer({
    groupId: `samsa-kafkajs-${topic}-${process.pid}-${Date.now()}`,
    maxBytesPerPartition: 4_000_000,
    maxBytes: 8_000_000,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = [];
  let finish;
  const done = new Promise(resolve => { finish = resolve; });
  const deadline = setTimeout(() => finish(), 60000);
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      if (partition !== 0 || seen.length >= count) return;
      seen.push({
        partition,
        offset: Number(message.offset),
        key: toB64(message.key),
        value: toB64(message.value),
        headers: Object.entries(message.headers || {}).flatMap(([name, value]) =>
          (Array.isArray(value) ? value : [value]).map(v => [name, toB64(v)])),
        timestamp: Number(message.timestamp),
      });
      if (seen.length >= count) finish();
    },
  });
  await done;
  clearTimeout(deadline);
  await consumer.disconnect();
  for (const m of seen) console.log(JSON.stringify(m));
}

(async () => {
  const [, , command, broker, topic, arg] = process.argv;
  await registerCodecs(CompressionTypes, CompressionCodecs);
  const kafka = new Kafka({ clientId: 'samsa-kafkajs', brokers: [broker], logLevel: logLevel.NOTHING });
  if (command === 'produce') await produce(kafka, topic, arg);
  else if (command === 'consume') await consume(kafka, topic, Number(arg));
  else throw new Error(`unknown command ${command}`);
})().catch(e => { console.error(e); process.exit(1); });
