using System.CommandLine;
using System.Text;
using Confluent.Kafka;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa console-producer</c> = <c>kafka-console-producer.sh</c>: one record per line of standard input, on
/// Confluent.Kafka. <c>--property parse.key=true</c> splits each line at <c>key.separator</c> (default tab);
/// <c>parse.headers=true</c> reads <c>h1:v1,h2:v2</c> before it, separated by <c>headers.delimiter</c>. Delivery
/// errors are printed as Kafka's <c>ErrorLoggingCallback</c> does and the tool goes on; at end of input or Ctrl-C
/// it flushes and exits.
/// </summary>
internal sealed class ConsoleProducerCommand
{
    private readonly Option<string> _bootstrap = new("--bootstrap-server") { Description = "REQUIRED: The server(s) to connect to." };
    private readonly Option<string> _topic = new("--topic") { Description = "REQUIRED: The topic id to produce messages to." };
    private readonly Option<string[]> _property = new("--property") { Description = "A mechanism to pass user-defined properties in the form key=value to the message reader (parse.key, key.separator, parse.headers, headers.delimiter, headers.separator, headers.key.separator, ignore.error, null.marker).", AllowMultipleArgumentsPerToken = false };
    private readonly Option<string> _acks = new("--request-required-acks") { Description = "The required acks of the producer requests", DefaultValueFactory = _ => "-1" };
    private readonly Option<int> _retries = new("--message-send-max-retries") { Description = "Number of retries before the producer gives up.", DefaultValueFactory = _ => 3 };
    private readonly Option<string?> _compression = new("--compression-codec") { Description = "The compression codec: either 'none', 'gzip', 'snappy', 'lz4', or 'zstd'. If specified without value, then it defaults to 'gzip'", Arity = ArgumentArity.ZeroOrOne };
    private readonly Option<string[]> _producerProperty = new("--producer-property") { Description = "A mechanism to pass user-defined properties in the form key=value to the producer." };
    private readonly Option<string> _producerConfig = new("--producer.config") { Description = "Producer config properties file." };
    private readonly Option<bool> _sync = new("--sync") { Description = "If set message send requests to the brokers are synchronously, one at a time as they arrive." };

    public Command Build()
    {
        var command = new Command("console-producer", "Read data from standard input and publish it to Kafka (kafka-console-producer.sh).");
        foreach (var option in new Option[] { _bootstrap, _topic, _property, _acks, _retries, _compression, _producerProperty, _producerConfig, _sync })
        {
            command.Add(option);
        }
        command.SetAction((result, ct) => CommandRunner.RunAsync(() => RunAsync(result, ct), "ERROR ", errorsToStdout: false));
        return command;
    }

    private async Task RunAsync(ParseResult r, CancellationToken cancellation)
    {
        var topic = r.GetValue(_topic) ?? throw new CommandException("Missing required argument \"[topic]\"");
        var config = new ProducerConfig(ClientProperties.Build(r.GetValue(_producerConfig), r.GetValue(_producerProperty) ?? [], r.GetValue(_bootstrap)))
        {
            Acks = r.GetValue(_acks) switch
            {
                "all" or "-1" => Acks.All,
                "1" => Acks.Leader,
                "0" => Acks.None,
                var other => throw new CommandException($"Invalid value {other} for --request-required-acks"),
            },
            MessageSendMaxRetries = r.GetValue(_retries),
        };
        if (r.GetResult(_compression) is not null)
        {
            var codec = r.GetValue(_compression) ?? "gzip";
            config.CompressionType = Enum.TryParse<CompressionType>(codec, ignoreCase: true, out var parsed)
                ? parsed : throw new CommandException($"Invalid compression codec {codec}");
        }
        var reader = new LineMessageReader(ClientProperties.Formatting(r.GetValue(_property) ?? []));
        var sync = r.GetValue(_sync);

        NativeLibrdkafka.EnsureLoaded();
        using var producer = new ProducerBuilder<byte[]?, byte[]?>(config).SetLogHandler((_, _) => { }).Build();
        var interactive = !Console.IsInputRedirected;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        while (!stop.IsCancellationRequested)
        {
            if (interactive)
            {
                Console.Write('>');
            }
            string? line;
            try
            {
                line = await Console.In.ReadLineAsync(stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            if (line is null)
            {
                break;
            }
            var message = reader.Read(line);
            if (sync)
            {
                try
                {
                    await producer.ProduceAsync(topic, message, CancellationToken.None);
                }
                catch (ProduceException<byte[]?, byte[]?> e)
                {
                    ReportFailure(topic, message, e.Error);
                }
                continue;
            }
            producer.Produce(topic, message, report =>
            {
                if (report.Error.IsError)
                {
                    ReportFailure(topic, report.Message, report.Error);
                }
            });
        }
        producer.Flush(TimeSpan.FromSeconds(30));
    }

    private static void ReportFailure(string topic, Message<byte[]?, byte[]?> message, Error error) =>
        Console.Error.WriteLine(
            $"ERROR Error when sending message to topic {topic} with key: {(message.Key is null ? "null" : $"{message.Key.Length} bytes")}, value: {(message.Value is null ? "null" : $"{message.Value.Length} bytes")} with error: {error.Reason} (org.apache.kafka.clients.producer.internals.ErrorLoggingCallback)");
}

/// <summary>Kafka's <c>LineMessageReader</c>: turns one input line into a record, honouring its properties.</summary>
internal sealed class LineMessageReader(Dictionary<string, string> properties)
{
    private readonly bool _parseKey = Flag(properties, "parse.key");
    private readonly bool _parseHeaders = Flag(properties, "parse.headers");
    private readonly bool _ignoreError = Flag(properties, "ignore.error");
    private readonly string _keySeparator = ClientProperties.Unescape(properties.GetValueOrDefault("key.separator", "\t"));
    private readonly string _headersDelimiter = ClientProperties.Unescape(properties.GetValueOrDefault("headers.delimiter", "\t"));
    private readonly string _headersSeparator = properties.GetValueOrDefault("headers.separator", ",");
    private readonly string _headerKeySeparator = properties.GetValueOrDefault("headers.key.separator", ":");
    private readonly string? _nullMarker = properties.GetValueOrDefault("null.marker");

    private static bool Flag(Dictionary<string, string> p, string name) => p.TryGetValue(name, out var v) && v.Trim().Equals("true", StringComparison.OrdinalIgnoreCase);

    public Message<byte[]?, byte[]?> Read(string line)
    {
        var message = new Message<byte[]?, byte[]?>();
        var rest = line;
        if (_parseHeaders)
        {
            var cut = rest.IndexOf(_headersDelimiter, StringComparison.Ordinal);
            if (cut < 0)
            {
                if (!_ignoreError)
                {
                    throw new CommandException($"No headers delimiter found on line number 1: '{line}'");
                }
            }
            else
            {
                message.Headers = [];
                foreach (var header in rest[..cut].Split(_headersSeparator))
                {
                    var sep = header.IndexOf(_headerKeySeparator, StringComparison.Ordinal);
                    var name = sep < 0 ? header : header[..sep];
                    var value = sep < 0 ? null : header[(sep + _headerKeySeparator.Length)..];
                    message.Headers.Add(name, value is null || value == _nullMarker ? null : Encoding.UTF8.GetBytes(value));
                }
                rest = rest[(cut + _headersDelimiter.Length)..];
            }
        }
        if (_parseKey)
        {
            var cut = rest.IndexOf(_keySeparator, StringComparison.Ordinal);
            if (cut < 0)
            {
                if (!_ignoreError)
                {
                    throw new CommandException($"No key separator found on line number 1: '{line}'");
                }
                message.Value = Bytes(rest);
                return message;
            }
            message.Key = Bytes(rest[..cut]);
            message.Value = Bytes(rest[(cut + _keySeparator.Length)..]);
            return message;
        }
        message.Value = Bytes(rest);
        return message;
    }

    private byte[]? Bytes(string text) => _nullMarker is not null && text == _nullMarker ? null : Encoding.UTF8.GetBytes(text);
}
