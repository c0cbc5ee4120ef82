using System.CommandLine;
using System.Diagnostics;
using Confluent.Kafka;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa verifiable-producer</c> = <c>kafka-verifiable-producer.sh</c>: produces increasing integers (as strings,
/// optionally <c>PREFIX.N</c>, keys cycling 0..REPEATING-KEYS-1 when asked) and prints Kafka's JSON events:
/// <c>startup_complete</c>, one <c>producer_send_success</c> (key, value, topic, partition, offset) or
/// <c>producer_send_error</c> per message, then <c>shutdown_complete</c> and <c>tool_data</c> (sent, acked,
/// target_throughput, avg_throughput) when it has sent <c>--max-messages</c> or is stopped by SIGINT/SIGTERM.
/// Retries are off, as in Kafka's tool, so an unacknowledged message is reported rather than resent.
/// </summary>
internal sealed class VerifiableProducerCommand
{
    private readonly Option<string> _topic = new("--topic") { Description = "Produce messages to this topic." };
    private readonly Option<string> _bootstrap = new("--bootstrap-server") { Description = "REQUIRED: The server(s) to connect to. Comma-separated list of Kafka brokers in the form HOST1:PORT1,HOST2:PORT2,..." };
    private readonly Option<string> _brokerList = new("--broker-list") { Description = "DEPRECATED, use --bootstrap-server instead; ignored if --bootstrap-server is specified." };
    private readonly Option<int> _maxMessages = new("--max-messages") { Description = "Produce this many messages. If -1, produce messages until the process is killed externally.", DefaultValueFactory = _ => -1 };
    private readonly Option<int> _throughput = new("--throughput") { Description = "If set >= 0, throttle maximum message throughput to *approximately* THROUGHPUT messages/sec.", DefaultValueFactory = _ => -1 };
    private readonly Option<int> _acks = new("--acks") { Description = "Acks required on each produced message. See Kafka docs on acks for details.", DefaultValueFactory = _ => -1 };
    private readonly Option<string> _producerConfig = new("--producer.config") { Description = "Producer config properties file." };
    private readonly Option<string> _commandConfig = new("--command-config") { Description = "Config properties file (config options shared with command line parameters will be overridden)." };
    private readonly Option<long> _createTime = new("--message-create-time") { Description = "Send messages with creation time starting at the arguments value, in milliseconds since epoch", DefaultValueFactory = _ => -1L };
    private readonly Option<int?> _valuePrefix = new("--value-prefix") { Description = "If specified, each produced value will have this prefix with a dot separator" };
    private readonly Option<int?> _repeatingKeys = new("--repeating-keys") { Description = "If specified, each produced record will have a key starting at 0 increment by 1 up to the number specified (exclusive), then the key is set to 0 again" };

    public Command Build()
    {
        var command = new Command("verifiable-producer", "This tool produces increasing integers to the specified topic and prints JSON metadata to stdout on each \"send\" request, making externally visible which messages have been acked and which have not.");
        foreach (var option in new Option[] { _topic, _bootstrap, _brokerList, _maxMessages, _throughput, _acks, _producerConfig, _commandConfig, _createTime, _valuePrefix, _repeatingKeys })
        {
            command.Add(option);
        }
        command.SetAction((result, ct) => CommandRunner.RunAsync(() => RunAsync(result, ct), "ERROR ", errorsToStdout: false));
        return command;
    }

    private Task RunAsync(ParseResult r, CancellationToken cancellation)
    {
        var topic = r.GetValue(_topic) ?? throw new CommandException("argument --topic is required");
        var acks = r.GetValue(_acks);
        if (acks is not (0 or 1 or -1))
        {
            throw new CommandException($"argument --acks: invalid choice: '{acks}' (choose from 0, 1, -1)");
        }
        if (r.GetValue(_producerConfig) is not null && r.GetValue(_commandConfig) is not null)
        {
            throw new CommandException("Options --producer.config and --command-config are mutually exclusive.");
        }
        var properties = ClientProperties.Build(r.GetValue(_producerConfig) ?? r.GetValue(_commandConfig), [], r.GetValue(_bootstrap) ?? r.GetValue(_brokerList));
        var config = new ProducerConfig(properties);
        // The tool's own settings, as Kafka puts them before reading the file: acks and no retries unless the file says otherwise.
        if (!properties.ContainsKey("acks"))
        {
            config.Set("acks", acks.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        // Keyed records land where the Java client would put them (murmur2), so runs are comparable with Kafka's tool.
        if (!properties.ContainsKey("partitioner"))
        {
            config.Set("partitioner", "murmur2_random");
        }
        if (!properties.ContainsKey("retries") && !properties.ContainsKey("message.send.max.retries"))
        {
            config.Set("retries", "0");
        }
        var maxMessages = r.GetValue(_maxMessages) is var m && m < 0 ? long.MaxValue : m;
        var throughput = r.GetValue(_throughput);
        var createTime = r.GetValue(_createTime) is var ct && ct == -1 ? (long?)null : ct;
        var valuePrefix = r.GetValue(_valuePrefix);
        var repeatingKeys = r.GetValue(_repeatingKeys);

        NativeLibrdkafka.EnsureLoaded();
        var events = new VerifiableEvents();
        using var stop = new StopSignals(cancellation);
        using var producer = new ProducerBuilder<string?, string>(config).SetLogHandler((_, _) => { }).Build();
        long sent = 0;
        long acked = 0;
        var startMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var clock = Stopwatch.StartNew();
        var keyCounter = 0;
        events.Emit("startup_complete");
        for (long i = 0; i < maxMessages && !stop.IsStopRequested; i++)
        {
            string? key = null;
            if (repeatingKeys is { } keys)
            {
                key = keyCounter.ToString(System.Globalization.CultureInfo.InvariantCulture);
                keyCounter = keyCounter + 1 == keys ? 0 : keyCounter + 1;
            }
            var value = valuePrefix is { } prefix ? $"{prefix}.{i}" : i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var message = new Message<string?, string> { Key = key, Value = value };
            if (createTime is { } created)
            {
                message.Timestamp = new Timestamp(created, TimestampType.CreateTime);
                // Kafka's tool advances the create time by the time elapsed since start after every message.
                createTime = created + DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - startMs;
            }
            sent++;
            Send(producer, topic, message, events, () => Interlocked.Increment(ref acked), stop.Token);
            Throttle(throughput, i + 1, clock, stop.Token);
        }
        producer.Flush(TimeSpan.FromSeconds(30));
        events.Emit("shutdown_complete");
        var elapsedMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - startMs;
        var ackedTotal = Interlocked.Read(ref acked);
        events.Emit("tool_data", json =>
        {
            json.WriteNumber("sent", sent);
            json.WriteNumber("acked", ackedTotal);
            json.WriteNumber("target_throughput", throughput);
            VerifiableEvents.WriteJavaDouble(json, "avg_throughput", 1000 * (ackedTotal / (double)elapsedMs));
        });
        return Task.CompletedTask;
    }

    private static void Send(IProducer<string?, string> producer, string topic, Message<string?, string> message, VerifiableEvents events, Action onAck, CancellationToken stop)
    {
        while (true)
        {
            try
            {
                producer.Produce(topic, message, report =>
                {
                    if (report.Error.IsError)
                    {
                        EmitError(events, message, topic, report.Error);
                        return;
                    }
                    onAck();
                    events.Emit("producer_send_success", json =>
                    {
                        json.WriteString("key", message.Key);
                        json.WriteString("value", message.Value);
                        json.WriteString("topic", report.Topic);
                        json.WriteNumber("partition", report.Partition.Value);
                        json.WriteNumber("offset", report.Offset.Value);
                    });
                });
                return;
            }
            catch (ProduceException<string?, string> e) when (e.Error.Code == ErrorCode.Local_QueueFull && !stop.IsCancellationRequested)
            {
                // Kafka's send() blocks while the buffer is full; so do we.
                producer.Poll(TimeSpan.FromMilliseconds(10));
            }
            catch (ProduceException<string?, string> e)
            {
                EmitError(events, message, topic, e.Error);
                return;
            }
        }
    }

    private static void EmitError(VerifiableEvents events, Message<string?, string> message, string topic, Error error) =>
        events.Emit("producer_send_error", json =>
        {
            json.WriteString("key", message.Key);
            json.WriteString("value", message.Value);
            json.WriteString("topic", topic);
            json.WriteString("exception", "class " + JavaExceptionClass(error.Code));
            json.WriteString("message", error.Reason);
        });

    /// <summary>The Java client's exception class for the common delivery failures, so scripts matching on it keep working.</summary>
    private static string JavaExceptionClass(ErrorCode code) => code switch
    {
        ErrorCode.Local_MsgTimedOut or ErrorCode.RequestTimedOut or ErrorCode.Local_TimedOut => "org.apache.kafka.common.errors.TimeoutException",
        ErrorCode.UnknownTopicOrPart or ErrorCode.Local_UnknownTopic or ErrorCode.Local_UnknownPartition => "org.apache.kafka.common.errors.UnknownTopicOrPartitionException",
        ErrorCode.MsgSizeTooLarge => "org.apache.kafka.common.errors.RecordTooLargeException",
        ErrorCode.NotEnoughReplicas => "org.apache.kafka.common.errors.NotEnoughReplicasException",
        ErrorCode.NotEnoughReplicasAfterAppend => "org.apache.kafka.common.errors.NotEnoughReplicasAfterAppendException",
        ErrorCode.NotLeaderForPartition => "org.apache.kafka.common.errors.NotLeaderOrFollowerException",
        ErrorCode.InvalidTimestamp => "org.apache.kafka.common.errors.InvalidTimestampException",
        ErrorCode.InvalidRecord => "org.apache.kafka.common.InvalidRecordException",
        ErrorCode.InvalidMsg => "org.apache.kafka.common.errors.CorruptRecordException",
        _ => "org.apache.kafka.common.KafkaException",
    };

    /// <summary>Kafka's ThroughputThrottler: keep the send rate at or under the target; 0 means send nothing more until stopped.</summary>
    private static void Throttle(int throughput, long sentSoFar, Stopwatch clock, CancellationToken stop)
    {
        if (throughput < 0)
        {
            return;
        }
        if (throughput == 0)
        {
            stop.WaitHandle.WaitOne();
            return;
        }
        var ahead = (double)sentSoFar / throughput - clock.Elapsed.TotalSeconds;
        if (ahead > 0.001)
        {
            stop.WaitHandle.WaitOne(TimeSpan.FromSeconds(ahead));
        }
    }
}
