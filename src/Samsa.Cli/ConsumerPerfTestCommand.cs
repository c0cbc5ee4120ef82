using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa consumer-perf-test</c> = <c>kafka-consumer-perf-test.sh</c>: reads <c>--messages</c> records from the
/// start of every partition of <c>--topic</c> and prints Kafka's header and summary line (start/end time, MB,
/// MB/sec, messages, messages/sec, rebalance and fetch times). The partitions are assigned directly, so the
/// rebalance time is 0.
/// </summary>
internal sealed class ConsumerPerfTestCommand
{
    private readonly Option<string> _bootstrap = new("--bootstrap-server") { Description = "REQUIRED unless --broker-list(deprecated) is specified. The server(s) to connect to." };
    private readonly Option<string> _topic = new("--topic") { Description = "REQUIRED: The topic to consume from." };
    private readonly Option<long> _messages = new("--messages") { Description = "REQUIRED: The number of messages to send or consume" };
    private readonly Option<long> _timeout = new("--timeout") { Description = "The maximum allowed time in milliseconds between returned records.", DefaultValueFactory = _ => 10_000 };
    private readonly Option<string> _group = new("--group") { Description = "The group id to consume on.", DefaultValueFactory = _ => "perf-consumer-" + Random.Shared.Next(100_000) };
    private readonly Option<string> _consumerConfig = new("--consumer.config") { Description = "Consumer config properties file." };
    private readonly Option<bool> _hideHeader = new("--hide-header") { Description = "If set, skips printing the header for the stats" };
    private readonly Option<int> _fetchSize = new("--fetch-size") { Description = "The amount of data to fetch in a single request.", DefaultValueFactory = _ => 1024 * 1024 };
    private readonly Option<int> _socketBufferSize = new("--socket-buffer-size") { Description = "The size of the tcp RECV size.", DefaultValueFactory = _ => 2 * 1024 * 1024 };

    public Command Build()
    {
        var command = new Command("consumer-perf-test", "This tool is used to verify the consumer performance (kafka-consumer-perf-test.sh).");
        foreach (var option in new Option[] { _bootstrap, _topic, _messages, _timeout, _group, _consumerConfig, _hideHeader, _fetchSize, _socketBufferSize })
        {
            command.Add(option);
        }
        command.SetAction((result, ct) => CommandRunner.RunAsync(() => RunAsync(result, ct), "ERROR ", errorsToStdout: false));
        return command;
    }

    private Task RunAsync(ParseResult r, CancellationToken cancellation)
    {
        var topic = r.GetValue(_topic) ?? throw new CommandException("Missing required argument \"[topic]\"");
        var wanted = r.GetValue(_messages);
        var config = new ConsumerConfig(ClientProperties.Build(r.GetValue(_consumerConfig), [], r.GetValue(_bootstrap)))
        {
            GroupId = r.GetValue(_group),
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            // Kafka's tool sets these (receive.buffer.bytes, max.partition.fetch.bytes, check.crcs=false).
            SocketReceiveBufferBytes = r.GetValue(_socketBufferSize),
            MaxPartitionFetchBytes = r.GetValue(_fetchSize),
            CheckCrcs = false,
            // Only the value and key sizes are counted: skip marshalling topic, timestamp and headers per record.
            ConsumeResultFields = "none",
        };
        NativeLibrdkafka.EnsureLoaded();
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).Build();
        using (var admin = new DependentAdminClientBuilder(consumer.Handle).Build())
        {
            var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(30)).Topics.Single();
            consumer.Assign(metadata.Partitions.Select(p => new TopicPartitionOffset(topic, p.PartitionId, Offset.Beginning)));
        }
        var start = DateTime.Now;
        var clock = Stopwatch.StartNew();
        long messages = 0;
        long bytes = 0;
        var timeout = r.GetValue(_timeout);
        // Kafka's loop reads the clock once per poll, not per record. Here the clock is read only when a consume
        // comes back empty: the --timeout counts from the first empty consume after the last record.
        var lastRecord = Environment.TickCount64;
        long messagesAtLastCheck = 0;
        while (messages < wanted && !cancellation.IsCancellationRequested)
        {
            var result = consumer.Consume(100);
            if (result?.Message is not { } message)
            {
                var now = Environment.TickCount64;
                if (messages != messagesAtLastCheck)
                {
                    messagesAtLastCheck = messages;
                    lastRecord = now;
                }
                else if (now - lastRecord > timeout)
                {
                    break;
                }
                continue;
            }
            messages++;
            bytes += (message.Key?.Length ?? 0) + (message.Value?.Length ?? 0);
        }
        var elapsed = Math.Max(clock.Elapsed.TotalSeconds, 0.001);
        var end = DateTime.Now;
        if (messages < wanted)
        {
            Console.Error.WriteLine($"WARNING: Exiting before consuming the expected number of messages: timeout ({timeout} ms) exceeded. You can use the --timeout option to increase the timeout.");
        }
        if (!r.GetValue(_hideHeader))
        {
            Console.WriteLine("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec");
        }
        var mb = bytes / (1024.0 * 1024.0);
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv,
            $"{start:yyyy-MM-dd HH:mm:ss:fff}, {end:yyyy-MM-dd HH:mm:ss:fff}, {mb:F4}, {mb / elapsed:F4}, {messages}, {messages / elapsed:F4}, 0, {(long)(elapsed * 1000)}, {mb / elapsed:F4}, {messages / elapsed:F4}"));
        consumer.Close();
        return Task.CompletedTask;
    }
}
