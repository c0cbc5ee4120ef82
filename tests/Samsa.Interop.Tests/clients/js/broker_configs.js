// kafkajs's admin client on BROKER config resources: the legacy AlterConfigs of a dynamic key and of a read-only
// one (Kafka's INVALID_REQUEST), DescribeConfigs of the broker and of a topic with synonyms. Prints one JSON object.
// Usage: node broker_configs.js BOOTSTRAP BROKER_ID TOPIC
const { Kafka, logLevel, ConfigResourceTypes } = require('kafkajs');

async function code(call) {
  try { await call(); return 0; } catch (e) {
    let inner = e;
    while (!inner.type && (inner.originalError || (inner.errors && inner.errors.length))) {
      inner = inner.originalError || inner.errors[0];
    }
    return inner.type ?? inner.message;
  }
}

const entry = c => ({
  value: c.configValue, readOnly: c.readOnly, isDefault: c.isDefault, source: c.configSource, sensitive: c.isSensitive,
  synonyms: (c.configSynonyms || []).map(s => ({ name: s.configName, value: s.configValue, source: s.configSource })),
});

async function describe(admin, type, name, keys) {
  const described = await admin.describeConfigs({ includeSynonyms: true, resources: [{ type, name }] });
  const found = {};
  for (const c of described.resources[0].configEntries) {
    if (keys.includes(c.configName)) found[c.configName] = entry(c);
  }
  return { count: described.resources[0].configEntries.length, entries: found };
}

(async () => {
  const [bootstrap, brokerId, topic] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: 'samsa-kafkajs', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 1 } });
  const admin = kafka.admin();
  await admin.connect();
  const out = {};
  const broker = entries => ({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: brokerId, configEntries: entries }] });
  out.alterDynamic = await code(() => admin.alterConfigs(broker([{ name: 'sasl.kerberos.min.time.before.relogin', value: '45000' }])));
  out.alterReadOnly = await code(() => admin.alterConfigs(broker([{ name: 'num.io.threads', value: '4' }, { name: 'log.dirs', value: '/tmp/elsewhere' }])));
  out.broker = await describe(admin, ConfigResourceTypes.BROKER, brokerId,
    ['sasl.kerberos.min.time.before.relogin', 'num.io.threads', 'log.dirs', 'num.partitions']);
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '86400000' }] }] });
  out.topic = await describe(admin, ConfigResourceTypes.TOPIC, topic, ['retention.ms', 'segment.ms', 'segment.bytes']);
  await admin.disconnect();
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
