using System.Text;
using System.Text.Json;
using Samsa.Interop.Tests.Infrastructure;

namespace Samsa.Interop.Tests;

/// <summary>
/// The produce/consume matrix: each producer client {kcat, Confluent.Kafka, kafka-python, kafkajs} writes the same five
/// messages (null key, keyed, headers, empty value, a 1 MB value) with each compression codec, and each consumer
/// client reads them back. Every message must arrive once, in order, byte-identical, with its key, headers and
/// timestamp, and every consumer must see exactly what the others see.
/// </summary>
public class ProduceConsumeInteropTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(90);
    private const long BaseTimestamp = 1_700_000_000_000;

    /// <summary>One message as the clients exchange it: key, value and header values as raw bytes.</summary>
    public sealed record Message(byte[]? Key, byte[]? Value, (string Name, byte[]? Value)[] Headers, long? Timestamp)
    {
        public string Describe() =>
            $"key={Show(Key)} value={(Value is { Length: > 64 } ? $"{Value.Length} bytes" : Show(Value))} headers=[{string.Join(",", Headers.Select(h => $"{h.Name}={Show(h.Value)}"))}] ts={Timestamp}";

        private static string Show(byte[]? b) => b is null ? "null" : "'" + Encoding.UTF8.GetString(b) + "'";
    }

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static readonly byte[] OneMegabyte = [.. Enumerable.Range(0, 1_000_000).Select(i => (byte)('a' + (i % 26)))];

    /// <summary>The five messages; producers that can set a timestamp set BaseTimestamp + index.</summary>
    public static List<Message> Expected(bool withTimestamps) =>
    [
        new(null, Utf8("v-plain"), [], withTimestamps ? BaseTimestamp : null),
        new(Utf8("k1"), Utf8("v-keyed"), [], withTimestamps ? BaseTimestamp + 1 : null),
        new(Utf8("k2"), Utf8("v-headers"), [("h1", Utf8("x")), ("h2", [])], withTimestamps ? BaseTimestamp + 2 : null),
        new(Utf8("k3"), [], [], withTimestamps ? BaseTimestamp + 3 : null),
        new(Utf8("big"), OneMegabyte, [], withTimestamps ? BaseTimestamp + 4 : null),
    ];

    private static readonly string[] Codecs = ["none", "gzip", "snappy", "lz4", "zstd"];

    public static TheoryData<string, string> Matrix()
    {
        var data = new TheoryData<string, string>();
        // kafkajs has gzip built in and takes snappy, lz4 and zstd from the codec plugins in clients/js/codecs.js.
        foreach (var producer in new[] { "kcat", "confluent", "kafka-python", "kafkajs" })
        {
            foreach (var codec in Codecs)
            {
                data.Add(producer, codec);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task ProducedMessages_AreConsumedIdentically_ByEveryClient(string producer, string codec)
    {
        var topic = $"matrix-{producer}-{codec}";
        var bootstrap = fixture.Broker.Bootstrap;
        var withTimestamps = producer != "kcat";
        var expected = Expected(withTimestamps);
        await TopicAdmin.CreateAsync(fixture.Broker.Port, topic);
        await Produce(producer, bootstrap, topic, codec, expected);

        var seen = new Dictionary<string, List<(long Offset, Message Message)>>();
        foreach (var consumer in new[] { "kcat", "confluent", "kafka-python", "kafkajs" })
        {
            seen[consumer] = await ConsumeExactly(consumer, bootstrap, topic, expected);
        }
        // Whatever timestamp the broker stored, every client reports the same one.
        var timestamps = seen.Values.Select(list => string.Join(",", list.Select(m => m.Message.Timestamp))).Distinct().ToList();
        Assert.Single(timestamps);
    }

    /// <summary>Reads the topic with <paramref name="consumer"/> and asserts it holds exactly <paramref name="expected"/>, from offset 0, in order.</summary>
    internal static async Task<List<(long Offset, Message Message)>> ConsumeExactly(string consumer, string bootstrap, string topic, List<Message> expected)
    {
        var consumed = await Consume(consumer, bootstrap, topic, expected.Count);
        Assert.True(consumed.Count == expected.Count, $"{consumer} read {consumed.Count} of {expected.Count} from {topic}");
        Assert.Equal(Enumerable.Range(0, expected.Count).Select(i => (long)i), consumed.Select(c => c.Offset));
        for (var i = 0; i < expected.Count; i++)
        {
            var want = expected[i];
            var got = consumed[i].Message;
            Assert.True(Same(want.Key, got.Key) && Same(want.Value, got.Value), $"{consumer}, message {i}: expected {want.Describe()}, got {got.Describe()}");
            Assert.Equal(want.Headers.Select(h => (h.Name, Convert.ToHexString(h.Value ?? []))), got.Headers.Select(h => (h.Name, Convert.ToHexString(h.Value ?? []))));
            if (want.Timestamp is { } ts)
            {
                Assert.Equal(ts, got.Timestamp);
            }
        }
        return consumed;
    }

    private static bool Same(byte[]? a, byte[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);

    private static string JsonLine(Message m) => JsonSerializer.Serialize(new
    {
        key = m.Key is null ? null : Convert.ToBase64String(m.Key),
        value = m.Value is null ? null : Convert.ToBase64String(m.Value),
        headers = m.Headers.Select(h => new[] { h.Name, h.Value is null ? null : Convert.ToBase64String(h.Value) }),
        timestamp = m.Timestamp,
    });

    internal static async Task Produce(string client, string bootstrap, string topic, string codec, List<Message> messages)
    {
        switch (client)
        {
            case "kcat":
                // kcat reads text lines: one invocation per message shape (key delimiter, headers).
                foreach (var m in messages)
                {
                    var args = new List<string> { "-P", "-b", bootstrap, "-t", topic, "-p", "0", "-z", codec, "-X", "message.max.bytes=4000000", "-X", "acks=all" };
                    var line = Encoding.UTF8.GetString(m.Value!);
                    if (m.Key is not null)
                    {
                        args.AddRange(["-K", "\t"]);
                        line = Encoding.UTF8.GetString(m.Key) + "\t" + line;
                    }
                    foreach (var (name, value) in m.Headers)
                    {
                        args.AddRange(["-H", $"{name}={Encoding.UTF8.GetString(value ?? [])}"]);
                    }
                    var result = await ExternalProcess.RunAsync("kcat", args, ClientTimeout, line + "\n");
                    Assert.True(result.ExitCode == 0, result.ToString());
                }
                break;
            case "confluent":
                {
                    var result = await ExternalProcess.RunAsync("dotnet", [RepoPaths.ConfluentClientDll, "produce", bootstrap, topic, codec], ClientTimeout,
                        string.Join("\n", messages.Select(JsonLine)) + "\n");
                    Assert.True(result.ExitCode == 0, result.ToString());
                    break;
                }
            case "kafkajs":
                {
                    var result = await ExternalProcess.RunAsync("node", [Peers.KafkaJsScript("io.js"), "produce", bootstrap, topic, codec], ClientTimeout,
                        string.Join("\n", messages.Select(JsonLine)) + "\n");
                    Assert.True(result.ExitCode == 0, result.ToString());
                    break;
                }
            case "kafka-python":
                {
                    var result = await ExternalProcess.RunAsync(Peers.Python, [RepoPaths.ClientScript("kafka_python_io.py"), "produce", bootstrap, topic, codec], ClientTimeout,
                        string.Join("\n", messages.Select(JsonLine)) + "\n");
                    Assert.True(result.ExitCode == 0, result.ToString());
                    break;
                }
        }
    }

    private static async Task<List<(long Offset, Message Message)>> Consume(string client, string bootstrap, string topic, int count)
    {
        ProcessResult result;
        switch (client)
        {
            case "kcat":
                result = await ExternalProcess.RunAsync("kcat", ["-C", "-b", bootstrap, "-t", topic, "-p", "0", "-o", "beginning", "-c", count.ToString(), "-J",
                    "-X", "fetch.message.max.bytes=4000000"], ClientTimeout);
                Assert.True(result.ExitCode == 0, result.ToString());
                return [.. Lines(result).Select(ParseKcat)];
            case "confluent":
                result = await ExternalProcess.RunAsync("dotnet", [RepoPaths.ConfluentClientDll, "consume", bootstrap, topic, count.ToString()], ClientTimeout);
                break;
            case "kafkajs":
                // kafkajs reads only through a consumer group: it joins a fresh group of its own.
                result = await ExternalProcess.RunAsync("node", [Peers.KafkaJsScript("io.js"), "consume", bootstrap, topic, count.ToString()], ClientTimeout);
                break;
            default:
                result = await ExternalProcess.RunAsync(Peers.Python, [RepoPaths.ClientScript("kafka_python_io.py"), "consume", bootstrap, topic, count.ToString()], ClientTimeout);
                break;
        }
        Assert.True(result.ExitCode == 0, result.ToString());
        return [.. Lines(result).Select(ParseWire)];
    }

    private static IEnumerable<JsonElement> Lines(ProcessResult result) =>
        result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone());

    private static byte[]? B64(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : Convert.FromBase64String(e.GetString()!);

    private static byte[]? Text(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : Utf8(e.GetString()!);

    private static (long, Message) ParseWire(JsonElement e) => (e.GetProperty("offset").GetInt64(), new Message(
        B64(e.GetProperty("key")), B64(e.GetProperty("value")),
        [.. e.GetProperty("headers").EnumerateArray().Select(h => (h[0].GetString()!, B64(h[1])))],
        e.GetProperty("timestamp").GetInt64()));

    /// <summary>kcat -J: key and payload as text, headers as a flat [name, value, ...] list.</summary>
    private static (long, Message) ParseKcat(JsonElement e)
    {
        var headers = new List<(string, byte[]?)>();
        if (e.TryGetProperty("headers", out var flat))
        {
            var items = flat.EnumerateArray().ToList();
            for (var i = 0; i + 1 < items.Count; i += 2)
            {
                headers.Add((items[i].GetString()!, Text(items[i + 1])));
            }
        }
        return (e.GetProperty("offset").GetInt64(), new Message(Text(e.GetProperty("key")), Text(e.GetProperty("payload")), [.. headers], e.GetProperty("ts").GetInt64()));
    }
}
