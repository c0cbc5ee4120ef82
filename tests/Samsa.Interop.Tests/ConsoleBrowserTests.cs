using System.Buffers.Binary;
using System.Net;
using System.Text.Json;
using Samsa.Interop.Tests.Infrastructure;

namespace Samsa.Interop.Tests;

/// <summary>
/// <c>console.listener</c> in a real browser: Playwright drives Debian's Chromium (headless) through the console of
/// the real server process (clients/js/console_e2e.js): a topic created with the console's form, a message produced
/// by kafkajs found in the message browser, a group's lag seen to appear and fall, and a screenshot of each page.
/// The screenshots go to a temporary directory; with <c>SAMSA_CONSOLE_SCREENSHOTS=docs/console</c> (relative to the
/// repository) they also replace the committed ones.
/// </summary>
public sealed partial class ConsoleBrowserTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Console_InChromium_CreatesTopic_BrowsesMessage_ShowsLagRiseAndFall()
    {
        Peers.Require(Chromium);
        var script = Peers.KafkaJsScript("console_e2e.js");
        Peers.RequireNodePackage("playwright-core");
        var (broker, consoleUrl) = await StartWithConsoleAsync(new Dictionary<string, string> { ["consumer.lag.sample.interval.ms"] = "500" });
        await using var _ = broker;
        var shots = Directory.CreateTempSubdirectory("samsa-console-shots-");
        try
        {
            var result = await ExternalProcess.RunAsync("node", [script, consoleUrl, broker.Bootstrap, shots.FullName], ScriptTimeout);
            output.WriteLine(result.ToString());
            Assert.True(result.ExitCode == 0, result + "\n--- broker\n" + broker.Output);
            using var json = JsonDocument.Parse(result.Stdout);
            var seen = json.RootElement;

            Assert.Equal(1, seen.GetProperty("brokers").GetInt32());
            Assert.Equal("node 1", seen.GetProperty("controller").GetString());
            Assert.Equal("Skip to content", seen.GetProperty("firstTab").GetString());
            Assert.Equal("main", seen.GetProperty("afterSkip").GetString()); // focus on <main>, and no hash (the route) change
            // The topic the form created, with its three partitions and the config set on it.
            Assert.Equal(3, seen.GetProperty("partitionRows").GetInt32());
            Assert.Equal("7200000", seen.GetProperty("retention").GetString());
            Assert.Equal("DynamicTopicConfig", seen.GetProperty("retentionSource").GetString());
            Assert.Equal(1, seen.GetProperty("partition1HighWatermark").GetInt32());
            // The produced message as the browser shows it: key as text, value as JSON, the header.
            Assert.Equal("order-42", seen.GetProperty("messageKey").GetString());
            Assert.Equal("lamp", seen.GetProperty("messageValue").GetProperty("item").GetString());
            Assert.Equal(2, seen.GetProperty("messageValue").GetProperty("qty").GetInt32());
            Assert.Equal("trace-id: abc-123", seen.GetProperty("messageHeaders").GetString());
            // Lag appeared (20 + 1 records past offsets committed at 0) and fell once the group consumed them.
            Assert.Equal(21, seen.GetProperty("lagBefore").GetInt32());
            Assert.Equal(3, seen.GetProperty("lagPartitionRows").GetInt32());
            Assert.Equal(0, seen.GetProperty("lagAfter").GetInt32());
            Assert.Equal(21, seen.GetProperty("consumed").GetInt32());
            Assert.Equal("console-e2e [0, 1, 2]", seen.GetProperty("assignment").GetString());
            Assert.True(seen.GetProperty("chartPaths").GetInt32() >= 1, "the lag chart draws a line");
            Assert.Equal(2, seen.GetProperty("topicsAfter").GetInt32()); // console-e2e and __consumer_offsets
            Assert.Equal(0, seen.GetProperty("phoneOverflow").GetInt32()); // nothing wider than a phone
            Assert.Empty(seen.GetProperty("pageErrors").EnumerateArray());

            // One screenshot per page at 1280x800, and one at phone width.
            string[] pages = ["overview", "topics", "topic", "messages", "groups", "group"];
            foreach (var name in pages)
            {
                Assert.Equal((1280, 800), PngSize(Path.Combine(shots.FullName, name + ".png")));
            }
            Assert.Equal((390, 844), PngSize(Path.Combine(shots.FullName, "phone-group.png")));
            if (Environment.GetEnvironmentVariable("SAMSA_CONSOLE_SCREENSHOTS") is { Length: > 0 } target)
            {
                var dir = Path.IsPathRooted(target) ? target : Path.Combine(RepoPaths.Root, target);
                Directory.CreateDirectory(dir);
                foreach (var file in shots.EnumerateFiles("*.png"))
                {
                    file.CopyTo(Path.Combine(dir, file.Name), overwrite: true);
                }
            }
        }
        finally
        {
            shots.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Console_ServesPageAndApi_AndRefusesCrossSiteCreate()
    {
        var (broker, consoleUrl) = await StartWithConsoleAsync([]);
        await using var _ = broker;
        using var http = new HttpClient { BaseAddress = new Uri(consoleUrl), Timeout = TimeSpan.FromSeconds(10) };

        using var index = await http.GetAsync(new Uri("/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        Assert.Contains("<title>Samsa console</title>", await index.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", index.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);

        using var cluster = JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/cluster", UriKind.Relative)));
        Assert.Equal(1, cluster.RootElement.GetProperty("brokers").GetArrayLength());
        Assert.Equal(1, cluster.RootElement.GetProperty("controllerId").GetInt32());

        // A form post from another site carries no X-Samsa-Console header: refused, and no topic is made.
        using var forged = await http.PostAsync(new Uri("/api/topics", UriKind.Relative),
            new FormUrlEncodedContent([new("name", "forged")]));
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        using var created = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/topics")
        {
            Content = new StringContent("""{"name":"made-here","partitions":2,"replicationFactor":1}""", System.Text.Encoding.UTF8, "application/json"),
            Headers = { { "X-Samsa-Console", "1" } },
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var topics = JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/topics", UriKind.Relative)));
        var names = topics.RootElement.EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToList();
        Assert.Contains("made-here", names);
        Assert.DoesNotContain("forged", names);
        using var duplicate = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/topics")
        {
            Content = new StringContent("""{"name":"made-here","partitions":2,"replicationFactor":1}""", System.Text.Encoding.UTF8, "application/json"),
            Headers = { { "X-Samsa-Console", "1" } },
        });
        Assert.Equal(HttpStatusCode.BadRequest, duplicate.StatusCode);
        Assert.Contains("TopicAlreadyExists", await duplicate.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Console_WithSaslUsers_AsksForAPasswordAndAcceptsOnlyARightOne()
    {
        var (broker, consoleUrl) = await StartWithConsoleAsync(new Dictionary<string, string>
        {
            ["sasl.enabled.mechanisms"] = "PLAIN",
            ["sasl.jaas.config"] = "org.apache.kafka.common.security.plain.PlainLoginModule required user_admin=\"admin-secret\" user_alice=\"alice-pw\";",
        });
        await using var _ = broker;
        using var http = new HttpClient { BaseAddress = new Uri(consoleUrl), Timeout = TimeSpan.FromSeconds(10) };

        async Task<HttpStatusCode> Get(string? user, string? password)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/cluster");
            if (user is not null)
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic",
                    Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{user}:{password}")));
            }
            using var response = await http.SendAsync(request);
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                Assert.StartsWith("Basic", response.Headers.WwwAuthenticate.Single().Scheme, StringComparison.Ordinal);
            }
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await Get(null, null));
        Assert.Equal(HttpStatusCode.Unauthorized, await Get("alice", "wrong"));
        Assert.Equal(HttpStatusCode.Unauthorized, await Get("mallory", "alice-pw"));
        Assert.Equal(HttpStatusCode.OK, await Get("alice", "alice-pw"));
        Assert.Equal(HttpStatusCode.OK, await Get("admin", "admin-secret"));
    }

    /// <summary>A broker with its console on a port the OS chose (read back from the console's log line), so it
    /// can never collide with the Kafka listener's.</summary>
    private static async Task<(BrokerProcess Broker, string ConsoleUrl)> StartWithConsoleAsync(Dictionary<string, string> config)
    {
        config["console.listener"] = "http://127.0.0.1:0";
        var broker = await BrokerProcess.StartAsync(config);
        if (!await broker.WaitForOutputAsync("Serving the web console on", TimeSpan.FromSeconds(10)))
        {
            var log = broker.Output;
            await broker.DisposeAsync();
            Assert.Fail("The console did not start:\n" + log);
        }
        var url = ConsoleLine().Match(broker.Output).Groups[1].Value;
        return (broker, url);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"Serving the web console on (http://\S+) ")]
    private static partial System.Text.RegularExpressions.Regex ConsoleLine();

    /// <summary>Width and height from a PNG's IHDR chunk (after the 8-byte signature and the chunk's length and type).</summary>
    private static (int Width, int Height) PngSize(string file)
    {
        Assert.True(File.Exists(file), $"missing screenshot {file}");
        var header = new byte[24];
        using (var stream = File.OpenRead(file))
        {
            stream.ReadExactly(header);
        }
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], header[..4]);
        return (BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(20)));
    }
}
