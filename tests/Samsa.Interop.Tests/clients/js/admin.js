// kafkajs's admin client against a broker: create, describe, list, add partitions, alter and describe configs,
// delete records, delete topics, and each error case with Kafka's error code. Prints one JSON object.
const { Kafka, logLevel, ConfigResourceTypes } = require('kafkajs');
const { errorCodes: protocolErrors } = require('kafkajs/src/protocol/error');

async function code(call) {
  try { await call(); return 0; } catch (e) {
    let inner = e;
    // Retriable errors come wrapped (retries exhausted); per-topic errors come as a list.
    while (!inner.type && (inner.originalError || (inner.errors && inner.errors.length))) {
      inner = inner.originalError || inner.errors[0];
    }
    if (inner.type) return errorCodes[inner.type] ?? inner.type;
    // Retries exhausted keeps only the message, which kafkajs takes from its table of Kafka's codes.
    const known = protocolErrors.find(p => p.message === inner.message);
    return known ? known.code : -1;
  }
}
// kafkajs reports Kafka errors by name; map the ones the test expects back to their numbers.
const errorCodes = {
  INVALID_REPLICATION_FACTOR: 38, TOPIC_ALREADY_EXISTS: 36, INVALID_CONFIG: 40, INVALID_PARTITIONS: 37,
  UNKNOWN_TOPIC_OR_PARTITION: 3, INVALID_TOPIC_EXCEPTION: 17, OFFSET_OUT_OF_RANGE: 1,
};

(async () => {
  const kafka = new Kafka({ clientId: 'samsa-kafkajs', brokers: [process.argv[2]], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const admin = kafka.admin();
  await admin.connect();
  const out = {};
  out.created = await admin.createTopics({ topics: [{ topic: 'js-orders', numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '172800000' }] }] });
  out.listed = (await admin.listTopics()).sort();
  const meta = await admin.fetchTopicMetadata({ topics: ['js-orders'] });
  out.partitions = meta.topics[0].partitions.length;
  await admin.createPartitions({ topicPartitions: [{ topic: 'js-orders', count: 4 }] });
  out.partitionsAfterAdd = (await admin.fetchTopicMetadata({ topics: ['js-orders'] })).topics[0].partitions.length;
  await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'js-orders', configEntries: [{ name: 'retention.ms', value: '86400000' }] }] });
  const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'js-orders' }] });
  out.retentionMs = described.resources[0].configEntries.find(c => c.configName === 'retention.ms').configValue;
  await admin.deleteTopicRecords({ topic: 'js-orders', partitions: [{ partition: 0, offset: '0' }] });
  out.offsets = (await admin.fetchTopicOffsets('js-orders')).length;
  out.errors = {
    replicationFactor: await code(() => admin.createTopics({ validateOnly: false, topics: [{ topic: 'js-rf', numPartitions: 1, replicationFactor: 3 }] })),
    invalidConfig: await code(() => admin.createTopics({ topics: [{ topic: 'js-bad', numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'no.such.config', value: '1' }] }] })),
    invalidValue: await code(() => admin.createTopics({ topics: [{ topic: 'js-bad', numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'min.insync.replicas', value: '0' }] }] })),
    invalidName: await code(() => admin.createTopics({ topics: [{ topic: 'bad/name', numPartitions: 1, replicationFactor: 1 }] })),
    decrease: await code(() => admin.createPartitions({ topicPartitions: [{ topic: 'js-orders', count: 2 }] })),
    deleteUnknown: await code(() => admin.deleteTopics({ topics: ['js-missing'], timeout: 5000 })),
  };
  // kafkajs's createTopics answers false instead of throwing for an existing topic.
  out.existsReturnsFalse = (await admin.createTopics({ topics: [{ topic: 'js-orders' }] })) === false;
  await admin.deleteTopics({ topics: ['js-orders'] });
  out.listedAfterDelete = (await admin.listTopics()).sort();
  await admin.disconnect();
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
