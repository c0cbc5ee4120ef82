using System.Text.Json;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Samsa.Native;

// Usage: Samsa.Interop.ConfluentClient <command> <bootstrap-servers> [args]
//   metadata                        prints the cluster as Confluent.Kafka's AdminClient.GetMetadata sees it, as one JSON line
//   produce TOPIC COMPRESSION [PARTITION]  reads JSON-line messages from stdin and produces them with acks=all
//   consume TOPIC COUNT             prints COUNT messages from the beginning of partition 0 as JSON lines
//   group TOPIC GROUP COUNT         subscribes as a member of GROUP, prints COUNT messages, commits them, leaves
//   admin                           runs every topics/configs admin call and each error case, printing results and error codes as JSON
//   broker-configs BROKER TOPIC GROUP  alters and describes BROKER, TOPIC and GROUP config resources (BrokerConfigsScenario), as JSON
//   cluster-admin                   describes the cluster and lists groups by type (ClusterScenario), as JSON
//   group-consume GROUP TOPIC PROTOCOL  one group member (group.protocol classic|consumer), see GroupConsumer
//   group-member TOPIC GROUP [k=v]  a long-running consumer-group member printing JSON-line events (GroupMemberScenario)
//   conformance TOPIC GROUP         ListOffsets max-timestamp and authorized operations (ConformanceScenario), as JSON
//   telemetry TOPIC                 produces one message with debug=telemetry and prints librdkafka's telemetry log lines
//   idempotent-produce TOPIC COUNT  produces COUNT keyed records with enable.idempotence=true (IdempotentProduceScenario)
//   idempotent-fault-produce TOPIC PARTITIONS COUNT RATE  an idempotent producer printing each delivery report (IdempotentFaultProducer)
//   jepsen-produce TOPIC PARTITIONS PROCESS SECONDS RATE FILE [k=v...]  the Jepsen workload's producer, its history to FILE (JepsenWorkload)
//   jepsen-consume TOPIC PARTITIONS PROCESS SECONDS FILE [RESEEK_SECONDS]  a Jepsen consumer reading every partition by assignment (JepsenWorkload)
//   jepsen-final TOPIC PARTITIONS PROCESS TIMEOUT_SECONDS FILE  the Jepsen final read from offset 0 to each partition's end (JepsenWorkload)
//   txn-fill TOPIC PARTITIONS COUNT  fills the transactional copy test's input (TransactionalCopier)
//   txn-copy INPUT OUTPUT GROUP TXNID PARTITIONS BATCH [ABORT [RATE [stdin]]]  the consume-transform-produce copier (TransactionalCopier)
//   sasl-policy USER PASSWORD CA ALLOWED FORBIDDEN GROUP  SASL_SSL + SCRAM-SHA-512: the allowed and forbidden actions of a user (SaslPolicyScenario), as JSON
//   txn-read TOPIC PARTITIONS ISOLATION EXPECTED  reads every partition with read_committed or read_uncommitted (TransactionalCopier)
// A message line: {"key": b64|null, "value": b64|null, "headers": [[name, b64]], "timestamp": ms|null}.
//
// Judge only with the librdkafka the tests name (Confluent.Kafka's CentOS 8 build; see CentOs8Librdkafka).
try
{
    CentOs8Librdkafka.EnsureLoaded();
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: Samsa.Interop.ConfluentClient <metadata> <bootstrap-servers>");
    return 2;
}

var bootstrap = args[1];
switch (args[0])
{
    case "metadata":
        {
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap, SocketTimeoutMs = 10000 }).Build();
            var metadata = admin.GetMetadata(TimeSpan.FromSeconds(10));
            var cluster = await admin.DescribeClusterAsync(new DescribeClusterOptions { RequestTimeout = TimeSpan.FromSeconds(10) }).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result.ClusterId : null);
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                librdkafka = Library.VersionString,
                originatingBrokerId = metadata.OriginatingBrokerId,
                brokers = metadata.Brokers.Select(b => new { id = b.BrokerId, host = b.Host, port = b.Port }),
                topics = metadata.Topics.Select(t => new { name = t.Topic, error = t.Error.Code.ToString(), partitions = t.Partitions.Count }),
                clusterId = cluster,
            }));
            return 0;
        }
    case "produce":
        {
            var config = new ProducerConfig
            {
                BootstrapServers = bootstrap,
                Acks = Acks.All,
                CompressionType = Enum.Parse<CompressionType>(args[3], ignoreCase: true),
                MessageMaxBytes = 4_000_000,
                LingerMs = 5,
            };
            using var producer = new ProducerBuilder<byte[]?, byte[]?>(config).Build();
            var count = 0;
            while (Console.ReadLine() is { } line)
            {
                var m = JsonSerializer.Deserialize<WireMessage>(line)!;
                var message = new Message<byte[]?, byte[]?> { Key = Decode(m.key), Value = Decode(m.value), Headers = [] };
                foreach (var h in m.headers)
                {
                    message.Headers.Add(h[0], Decode(h[1]));
                }
                if (m.timestamp is { } ts)
                {
                    message.Timestamp = new Timestamp(ts, TimestampType.CreateTime);
                }
                await (args.Length > 4
                    ? producer.ProduceAsync(new TopicPartition(args[2], new Partition(int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture))), message)
                    : producer.ProduceAsync(args[2], message));
                count++;
            }
            producer.Flush(TimeSpan.FromSeconds(30));
            Console.WriteLine(JsonSerializer.Serialize(new { produced = count }));
            return 0;
        }
    case "consume":
        {
            var config = new ConsumerConfig
            {
                BootstrapServers = bootstrap,
                GroupId = "samsa-interop-unused",
                EnableAutoCommit = false,
                MaxPartitionFetchBytes = 4_000_000,
                FetchMaxBytes = 8_000_000,
            };
            using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
            consumer.Assign(new TopicPartitionOffset(args[2], 0, Offset.Beginning));
            var want = int.Parse(args[3]);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            for (var seen = 0; seen < want && DateTime.UtcNow < deadline;)
            {
                var result = consumer.Consume(TimeSpan.FromSeconds(1));
                if (result is null || result.IsPartitionEOF)
                {
                    continue;
                }
                Console.WriteLine(JsonSerializer.Serialize(new WireMessage(
                    Encode(result.Message.Key), Encode(result.Message.Value),
                    [.. (result.Message.Headers ?? []).Select(h => new[] { h.Key, Encode(h.GetValueBytes()) })],
                    result.Message.Timestamp.UnixTimestampMs)
                { partition = result.Partition.Value, offset = result.Offset.Value }));
                seen++;
            }
            consumer.Close();
            return 0;
        }
    case "group":
        {
            var config = new ConsumerConfig
            {
                BootstrapServers = bootstrap,
                GroupId = args[3],
                EnableAutoCommit = false,
                AutoOffsetReset = AutoOffsetReset.Earliest,
            };
            using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
            consumer.Subscribe(args[2]);
            var want = int.Parse(args[4]);
            var seen = 0;
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (seen < want && DateTime.UtcNow < deadline)
            {
                var result = consumer.Consume(TimeSpan.FromSeconds(1));
                if (result is null || result.IsPartitionEOF)
                {
                    continue;
                }
                Console.WriteLine(JsonSerializer.Serialize(new { partition = result.Partition.Value, offset = result.Offset.Value, value = Encode(result.Message.Value) }));
                seen++;
            }
            // Commits the position (next offset to read) of every assigned partition, synchronously.
            consumer.Commit();
            consumer.Close();
            if (seen < want)
            {
                Console.Error.WriteLine($"error: only {seen} of {want} messages arrived");
                return 1;
            }
            return 0;
        }
    case "admin":
        {
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap, SocketTimeoutMs = 10000 }).Build();
            Console.WriteLine(JsonSerializer.Serialize(await AdminScenario.RunAsync(admin)));
            return 0;
        }
    case "conformance":
        {
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap, SocketTimeoutMs = 10000 }).Build();
            Console.WriteLine(JsonSerializer.Serialize(await ConformanceScenario.RunAsync(admin, args[2], args[3])));
            return 0;
        }
    case "telemetry":
        {
            // librdkafka 2.5+ asks a broker that advertises GetTelemetrySubscriptions for its subscription (KIP-714);
            // its telemetry debug lines show what it made of the answer.
            var lines = new List<string>();
            using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = bootstrap, Debug = "telemetry" })
                .SetLogHandler((_, m) => { lock (lines) { lines.Add($"{m.Level} {m.Facility} {m.Message}"); } })
                .Build();
            await producer.ProduceAsync(args[2], new Message<byte[]?, byte[]?> { Value = [1] });
            await Task.Delay(TimeSpan.FromSeconds(2));
            lock (lines)
            {
                Console.WriteLine(JsonSerializer.Serialize(new { logs = lines }));
            }
            return 0;
        }
    case "broker-configs":
        {
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap, SocketTimeoutMs = 10000 }).Build();
            Console.WriteLine(JsonSerializer.Serialize(await BrokerConfigsScenario.RunAsync(admin, args[2], args[3], args[4])));
            return 0;
        }
    case "sasl-policy":
        Console.WriteLine(JsonSerializer.Serialize(await SaslPolicyScenario.RunAsync(bootstrap, args[2], args[3], args[4], args[5], args[6], args[7])));
        return 0;
    case "cluster-admin":
        Console.WriteLine(JsonSerializer.Serialize(await ClusterScenario.RunAsync(bootstrap)));
        return 0;
    case "group-consume":
        return GroupConsumer.Run(bootstrap, args[2], args[3], args[4]);
    case "group-member":
        return GroupMemberScenario.Run(bootstrap, args[2], args[3], args.Skip(4));
    case "idempotent-produce":
        return IdempotentProduceScenario.Run(bootstrap, args[2], int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture));
    case "idempotent-fault-produce":
        return IdempotentFaultProducer.Run(bootstrap, args[2], int.Parse(args[3]), int.Parse(args[4]), int.Parse(args[5]));
    case "jepsen-produce":
        return JepsenWorkload.Produce(bootstrap, args[2], Int(args[3]), Int(args[4]), Int(args[5]), Int(args[6]), args[7], args.Skip(8));
    case "jepsen-consume":
        return JepsenWorkload.Consume(bootstrap, args[2], Int(args[3]), Int(args[4]), Int(args[5]), args[6], args.Length > 7 ? Int(args[7]) : 20);
    case "jepsen-final":
        return JepsenWorkload.Final(bootstrap, args[2], Int(args[3]), Int(args[4]), Int(args[5]), args[6]);
    case "txn-fill":
        return TransactionalCopier.Fill(bootstrap, args[2], int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture));
    case "txn-copy":
        return TransactionalCopier.Copy(bootstrap, args[2], args[3], args[4], args[5], int.Parse(args[6], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(args[7], System.Globalization.CultureInfo.InvariantCulture), args.Length > 8 ? int.Parse(args[8], System.Globalization.CultureInfo.InvariantCulture) : 0,
            args.Length > 9 ? int.Parse(args[9], System.Globalization.CultureInfo.InvariantCulture) : 0, args.Length > 10 && args[10] == "stdin");
    case "txn-read":
        return TransactionalCopier.Read(bootstrap, args[2], int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture), args[4], int.Parse(args[5], System.Globalization.CultureInfo.InvariantCulture));
    default:
        Console.Error.WriteLine($"error: unknown command {args[0]}");
        return 2;
}

static int Int(string text) => int.Parse(text, System.Globalization.CultureInfo.InvariantCulture);

static byte[]? Decode(string? b64) => b64 is null ? null : Convert.FromBase64String(b64);

static string? Encode(byte[]? bytes) => bytes is null ? null : Convert.ToBase64String(bytes);

#pragma warning disable IDE1006 // JSON field names shared with the Python clients
internal sealed record WireMessage(string? key, string? value, string?[][] headers, long? timestamp)
{
    public int partition { get; init; }

    public long offset { get; init; }
}
#pragma warning restore IDE1006
