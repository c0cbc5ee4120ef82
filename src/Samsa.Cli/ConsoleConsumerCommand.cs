using System.CommandLine;
using System.Text;
using Confluent.Kafka;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa console-consumer</c> = <c>kafka-console-consumer.sh</c>, on Confluent.Kafka. Records are printed by
/// Kafka's <c>DefaultMessageFormatter</c> rules (timestamp, partition, offset, headers, key, value, each when its
/// <c>print.*</c> property is on, separated by <c>key.separator</c>). As Kafka's tool, it subscribes through the
/// group coordinator: in <c>--group</c> (or <c>group.id</c>) with auto commit, so a rerun resumes where it stopped and
/// <c>--from-beginning</c> only applies to a group without a committed offset; otherwise in a throwaway
/// <c>console-consumer-NNNNN</c> group that commits nothing. <c>--partition</c> assigns that partition instead. Ends after <c>--max-messages</c>, after <c>--timeout-ms</c> without a record, or on Ctrl-C,
/// printing <c>Processed a total of N messages</c> to standard error.
/// </summary>
internal sealed class ConsoleConsumerCommand
{
    private readonly Option<string> _bootstrap = new("--bootstrap-server") { Description = "REQUIRED: The server(s) to connect to." };
    private readonly Option<string> _topic = new("--topic") { Description = "The topic to consume on." };
    private readonly Option<bool> _fromBeginning = new("--from-beginning") { Description = "If the consumer does not already have an established offset to consume from, start with the earliest message present in the log rather than the latest message." };
    private readonly Option<string> _group = new("--group") { Description = "The consumer group id of the consumer." };
    private readonly Option<int?> _partition = new("--partition") { Description = "The partition to consume from. Consumption starts from the end of the partition unless '--offset' is specified." };
    private readonly Option<string> _offset = new("--offset") { Description = "The offset to consume from (a non-negative number), or 'earliest' which means from beginning, or 'latest' which means from end" };
    private readonly Option<int?> _maxMessages = new("--max-messages") { Description = "The maximum number of messages to consume before exiting. If not set, consumption is continual." };
    private readonly Option<int?> _timeoutMs = new("--timeout-ms") { Description = "If specified, exit if no message is available for consumption for the specified interval." };
    private readonly Option<string> _isolation = new("--isolation-level") { Description = "Set to read_committed in order to filter out transactional messages which are not committed. Set to read_uncommitted to read all messages.", DefaultValueFactory = _ => "read_uncommitted" };
    private readonly Option<string[]> _property = new("--property") { Description = "The properties to initialize the message formatter: print.timestamp, print.key, print.offset, print.partition, print.headers, print.value, key.separator, line.separator, headers.separator, null.literal." };
    private readonly Option<string[]> _consumerProperty = new("--consumer-property") { Description = "A mechanism to pass user-defined properties in the form key=value to the consumer." };
    private readonly Option<string> _consumerConfig = new("--consumer.config") { Description = "Consumer config properties file." };

    public Command Build()
    {
        var command = new Command("console-consumer", "Consume messages from Kafka and print them to standard output (kafka-console-consumer.sh).");
        foreach (var option in new Option[] { _bootstrap, _topic, _fromBeginning, _group, _partition, _offset, _maxMessages, _timeoutMs, _isolation, _property, _consumerProperty, _consumerConfig })
        {
            command.Add(option);
        }
        command.SetAction((result, ct) => CommandRunner.RunAsync(() => RunAsync(result, ct), "ERROR ", errorsToStdout: false));
        return command;
    }

    private async Task RunAsync(ParseResult r, CancellationToken cancellation)
    {
        var topic = r.GetValue(_topic) ?? throw new CommandException("Exactly one of whitelist/topic is required.");
        var partition = r.GetValue(_partition);
        var fromBeginning = r.GetValue(_fromBeginning);
        if (partition is not null)
        {
            if (fromBeginning && r.GetValue(_offset) is not null)
            {
                throw new CommandException("Options from-beginning and offset cannot be specified together.");
            }
        }
        else if (r.GetValue(_offset) is not null)
        {
            throw new CommandException("The partition is required when offset is specified.");
        }
        var properties = ClientProperties.Build(r.GetValue(_consumerConfig), r.GetValue(_consumerProperty) ?? [], r.GetValue(_bootstrap));
        var group = GroupId(r);
        if (group is not null && partition is not null)
        {
            throw new CommandException("Options group and partition cannot be specified together.");
        }
        // Kafka's setAutoOffsetResetValue: an explicit auto.offset.reset wins, and must not contradict --from-beginning.
        if (properties.TryGetValue("auto.offset.reset", out var reset))
        {
            if (fromBeginning && reset != "earliest")
            {
                throw new CommandException($"Can't simultaneously specify --from-beginning and 'auto.offset.reset={reset}', please remove one option");
            }
        }
        else
        {
            properties["auto.offset.reset"] = fromBeginning ? "earliest" : "latest";
        }
        properties.TryAdd("client.id", "console-consumer");
        if (group is null)
        {
            // Kafka's tool makes up a throwaway group and, unless told otherwise, commits nothing for it.
            properties["group.id"] = $"console-consumer-{Random.Shared.Next(100_000)}";
            properties.TryAdd("enable.auto.commit", "false");
        }
        else
        {
            properties["group.id"] = group;
        }
        var config = new ConsumerConfig(properties)
        {
            IsolationLevel = r.GetValue(_isolation) switch
            {
                "read_committed" => IsolationLevel.ReadCommitted,
                "read_uncommitted" => IsolationLevel.ReadUncommitted,
                var other => throw new CommandException($"Invalid value {other} for --isolation-level"),
            },
        };
        var formatter = new DefaultMessageFormatter(ClientProperties.Formatting(r.GetValue(_property) ?? []));
        var maxMessages = r.GetValue(_maxMessages);
        var timeout = r.GetValue(_timeoutMs);

        NativeLibrdkafka.EnsureLoaded();
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).SetLogHandler((_, _) => { }).Build();
        if (partition is null)
        {
            consumer.Subscribe(topic);
        }
        else
        {
            consumer.Assign([new TopicPartitionOffset(topic, partition.Value, StartOffset(r))]);
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        var processed = 0;
        var lastRecord = DateTime.UtcNow;
        var output = Console.OpenStandardOutput();
        try
        {
            while (!stop.IsCancellationRequested && (maxMessages is null || processed < maxMessages))
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (result?.Message is null)
                {
                    if (timeout is { } ms && (DateTime.UtcNow - lastRecord).TotalMilliseconds >= ms)
                    {
                        Console.Error.WriteLine("ERROR Error processing message, terminating consumer process:  (kafka.tools.ConsoleConsumer$)");
                        Console.Error.WriteLine("org.apache.kafka.common.errors.TimeoutException");
                        break;
                    }
                    continue;
                }
                lastRecord = DateTime.UtcNow;
                formatter.WriteTo(output, result);
                processed++;
            }
        }
        finally
        {
            await output.FlushAsync(CancellationToken.None);
            Console.Error.WriteLine($"Processed a total of {processed} messages");
            consumer.Close();
        }
    }

    /// <summary>
    /// The group named by <c>--group</c>, <c>group.id</c> in <c>--consumer-property</c> or in <c>--consumer.config</c>;
    /// Kafka refuses different values in different places.
    /// </summary>
    private string? GroupId(ParseResult r)
    {
        var ids = new List<string>();
        if (r.GetValue(_group) is { } group)
        {
            ids.Add(group);
        }
        if (r.GetValue(_consumerConfig) is { } file && ClientOptions.ReadFile(file).TryGetValue("group.id", out var fromFile))
        {
            ids.Add(fromFile);
        }
        if (CommandRunner.ParsePairs(r.GetValue(_consumerProperty) ?? [], splitCommas: false).LastOrDefault(p => p.Key == "group.id") is { Key: not null } fromProperty)
        {
            ids.Add(fromProperty.Value);
        }
        var distinct = ids.Distinct().ToList();
        return distinct.Count > 1
            ? throw new CommandException("The group ids provided in different places (directly using '--group', via '--consumer-property', or via '--consumer.config') do not match. Detected group ids: " +
                string.Join(", ", JavaHashOrder.OrderDefault(distinct, g => g).Select(g => $"'{g}'")))
            : distinct.FirstOrDefault();
    }

    /// <summary>With <c>--partition</c>: where <c>--offset</c> (or <c>--from-beginning</c>) says to start.</summary>
    private Offset StartOffset(ParseResult r)
    {
        var offsetText = r.GetValue(_offset);
        return offsetText?.ToLowerInvariant() switch
        {
            null => r.GetValue(_fromBeginning) ? Offset.Beginning : Offset.End,
            "earliest" => Offset.Beginning,
            "latest" => Offset.End,
            _ when long.TryParse(offsetText, out var n) && n >= 0 => new Offset(n),
            _ => throw new CommandException($"The provided offset value '{offsetText}' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long."),
        };
    }
}

/// <summary>Kafka's <c>DefaultMessageFormatter</c>: which parts of a record are printed, and how they are separated.</summary>
internal sealed class DefaultMessageFormatter(Dictionary<string, string> properties)
{
    private readonly bool _timestamp = Flag(properties, "print.timestamp");
    private readonly bool _partition = Flag(properties, "print.partition");
    private readonly bool _offset = Flag(properties, "print.offset");
    private readonly bool _headers = Flag(properties, "print.headers");
    private readonly bool _key = Flag(properties, "print.key");
    private readonly bool _value = !properties.TryGetValue("print.value", out var v) || v.Trim().Equals("true", StringComparison.OrdinalIgnoreCase);
    private readonly byte[] _keySeparator = Encoding.UTF8.GetBytes(ClientProperties.Unescape(properties.GetValueOrDefault("key.separator", "\t")));
    private readonly byte[] _lineSeparator = Encoding.UTF8.GetBytes(ClientProperties.Unescape(properties.GetValueOrDefault("line.separator", "\n")));
    private readonly string _headersSeparator = properties.GetValueOrDefault("headers.separator", ",");
    private readonly string _headersKeySeparator = properties.GetValueOrDefault("headers.key.separator", ":");
    private readonly byte[] _nullLiteral = Encoding.UTF8.GetBytes(properties.GetValueOrDefault("null.literal", "null"));

    private static bool Flag(Dictionary<string, string> p, string name) => p.TryGetValue(name, out var v) && v.Trim().Equals("true", StringComparison.OrdinalIgnoreCase);

    public void WriteTo(Stream output, ConsumeResult<byte[]?, byte[]?> record)
    {
        void Text(string s) => output.Write(Encoding.UTF8.GetBytes(s));
        void Separator(bool more)
        {
            if (more)
            {
                output.Write(_keySeparator);
            }
        }
        if (_timestamp)
        {
            var ts = record.Message.Timestamp;
            Text(ts.Type switch
            {
                TimestampType.CreateTime => $"CreateTime:{ts.UnixTimestampMs}",
                TimestampType.LogAppendTime => $"LogAppendTime:{ts.UnixTimestampMs}",
                _ => "NO_TIMESTAMP",
            });
            Separator(_partition || _offset || _headers || _key || _value);
        }
        if (_partition)
        {
            Text($"Partition:{record.Partition.Value}");
            Separator(_offset || _headers || _key || _value);
        }
        if (_offset)
        {
            Text($"Offset:{record.Offset.Value}");
            Separator(_headers || _key || _value);
        }
        if (_headers)
        {
            var headers = record.Message.Headers;
            Text(headers is null || headers.Count == 0
                ? "NO_HEADERS"
                : string.Join(_headersSeparator, headers.Select(h => h.Key + _headersKeySeparator + (h.GetValueBytes() is { } b ? Encoding.UTF8.GetString(b) : "null"))));
            Separator(_key || _value);
        }
        if (_key)
        {
            output.Write(record.Message.Key ?? _nullLiteral);
            Separator(_value);
        }
        if (_value)
        {
            output.Write(record.Message.Value ?? _nullLiteral);
            output.Write(_lineSeparator);
        }
    }
}
