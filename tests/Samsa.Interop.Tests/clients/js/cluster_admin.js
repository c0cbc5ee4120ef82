// kafkajs's admin client on the cluster-wide calls: describeCluster (Metadata) and listGroups (ListGroups),
// after kafkajs's own ApiVersions negotiation. Prints one JSON object.
const { Kafka, logLevel } = require('kafkajs');

(async () => {
  const kafka = new Kafka({ clientId: 'samsa-kafkajs', brokers: [process.argv[2]], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const admin = kafka.admin();
  await admin.connect();
  const cluster = await admin.describeCluster();
  const groups = await admin.listGroups();
  await admin.disconnect();
  console.log(JSON.stringify({
    clusterId: cluster.clusterId,
    controller: cluster.controller,
    brokers: cluster.brokers.map(b => b.nodeId),
    groups: groups.groups.map(g => ({ groupId: g.groupId, protocolType: g.protocolType })).sort((a, b) => a.groupId.localeCompare(b.groupId)),
  }));
})().catch(e => { console.error(e.stack || e); process.exit(1); });
