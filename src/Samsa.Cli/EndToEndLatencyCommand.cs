using System.CommandLine;
using System.Diagnostics;
using Confluent.Kafka;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa end-to-end-latency</c> = <c>kafka-e2e-latency.sh</c> (Kafka's <c>EndToEndLatency</c>): positional
/// <c>broker_list topic num_messages producer_acks message_size_bytes [properties_file]</c>. Sends one message at
/// a time and waits until the consumer sees it, then prints the average and the 50th, 99th and 99.9th
/// percentile round trips in milliseconds, as Kafka's tool does.
/// </summary>
internal sealed class EndToEndLatencyCommand
{
    private readonly Argument<string> _brokers = new("broker_list");
    private readonly Argument<string> _topic = new("topic");
    private readonly Argument<int> _count = new("num_messages");
    private readonly Argument<string> _acks = new("producer_acks");
    private readonly Argument<int> _size = new("message_size_bytes");
    private readonly Argument<string?> _properties = new("properties_file") { Arity = ArgumentArity.ZeroOrOne };

    public Command Build()
    {
        var command = new Command("end-to-end-latency", "Measure the round trip from producer send to consumer receipt (kafka-e2e-latency.sh).");
        foreach (var argument in new Argument[] { _brokers, _topic, _count, _acks, _size, _properties })
        {
            command.Add(argument);
        }
        command.SetAction((result, ct) => CommandRunner.RunAsync(() => RunAsync(result, ct), "ERROR ", errorsToStdout: false));
        return command;
    }

    private Task RunAsync(ParseResult r, CancellationToken cancellation)
    {
        var topic = r.GetValue(_topic)!;
        var count = r.GetValue(_count);
        var acks = r.GetValue(_acks);
        if (acks is not ("1" or "all" or "-1"))
        {
            throw new CommandException("Latency testing requires synchronous acknowledgement. Please use 1 or all");
        }
        var common = ClientProperties.Build(r.GetValue(_properties), [], r.GetValue(_brokers));
        NativeLibrdkafka.EnsureLoaded();
        using var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig(common) { Acks = acks == "1" ? Acks.Leader : Acks.All, LingerMs = 0 })
            .SetLogHandler((_, _) => { }).Build();
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig(common) { GroupId = "test-group-" + Environment.TickCount64, EnableAutoCommit = false, FetchWaitMaxMs = 1 })
            .SetLogHandler((_, _) => { }).Build();
        using (var admin = new DependentAdminClientBuilder(consumer.Handle).Build())
        {
            var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(30)).Topics.Single().Partitions;
            if (partitions.Count != 1)
            {
                throw new CommandException($"Only topics with one partition are supported. Found {partitions.Count} partitions in topic {topic}");
            }
        }
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.End));
        var latenciesMs = new double[count];
        var payload = new byte[r.GetValue(_size)];
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count && !cancellation.IsCancellationRequested; i++)
        {
            Random.Shared.NextBytes(payload);
            var begin = clock.Elapsed;
            producer.ProduceAsync(topic, new Message<Null, byte[]> { Value = payload }, cancellation).GetAwaiter().GetResult();
            var received = consumer.Consume(TimeSpan.FromSeconds(60)) ?? throw new CommandException("poll() timed out before finding a result (timeout:[60000])");
            if (!received.Message.Value.AsSpan().SequenceEqual(payload))
            {
                throw new CommandException($"The message read [{received.Message.Value.Length} bytes] did not match the message sent [{payload.Length} bytes]");
            }
            latenciesMs[i] = (clock.Elapsed - begin).TotalMilliseconds;
            if (i % 1000 == 0)
            {
                Console.WriteLine($"{i}\t{latenciesMs[i]}");
            }
        }
        Console.WriteLine($"Avg latency: {latenciesMs.Average():F4} ms");
        Array.Sort(latenciesMs);
        double P(double q) => latenciesMs[Math.Min(latenciesMs.Length - 1, (int)(latenciesMs.Length * q))];
        Console.WriteLine($"Percentiles: 50th = {P(0.5)}, 99th = {P(0.99)}, 99.9th = {P(0.999)}");
        consumer.Close();
        return Task.CompletedTask;
    }
}
