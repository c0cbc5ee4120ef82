using System.Buffers.Binary;
using Samsa.Broker.Handlers;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests;

public class ApiVersionsTests
{
    private static ApiVersionsRequest Request() => new() { ClientSoftwareName = "samsa-tests", ClientSoftwareVersion = "1.0.0" };

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task EveryVersion_AdvertisesExactlyTheServedHandlers(short version)
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();

        // RequestAsync parses the response header as v0 and fails on leftover bytes, so this also pins header v0.
        var (correlationId, response) = await client.RequestAsync<ApiVersionsResponse>(Request(), version, 42);

        Assert.Equal(42, correlationId);
        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        var advertised = response.ApiKeys.Select(k => ((ApiKey)k.ApiKey, k.MinVersion, k.MaxVersion)).ToArray();
        Assert.Equal(
        [
            (ApiKey.Produce, (short)3, (short)11), (ApiKey.Fetch, (short)4, (short)17),
            (ApiKey.ListOffsets, (short)0, (short)10), (ApiKey.Metadata, (short)0, (short)12),
            (ApiKey.OffsetCommit, (short)0, (short)9), (ApiKey.OffsetFetch, (short)0, (short)9), (ApiKey.FindCoordinator, (short)0, (short)6),
            (ApiKey.JoinGroup, (short)0, (short)9), (ApiKey.Heartbeat, (short)0, (short)4), (ApiKey.LeaveGroup, (short)0, (short)5),
            (ApiKey.SyncGroup, (short)0, (short)5), (ApiKey.DescribeGroups, (short)0, (short)5), (ApiKey.ListGroups, (short)0, (short)5),
            (ApiKey.SaslHandshake, (short)0, (short)1), (ApiKey.ApiVersions, (short)0, (short)4),
            (ApiKey.CreateTopics, (short)0, (short)7), (ApiKey.DeleteTopics, (short)0, (short)6), (ApiKey.DeleteRecords, (short)0, (short)2),
            (ApiKey.InitProducerId, (short)0, (short)5), (ApiKey.OffsetForLeaderEpoch, (short)0, (short)4),
            (ApiKey.AddPartitionsToTxn, (short)0, (short)5), (ApiKey.AddOffsetsToTxn, (short)0, (short)4), (ApiKey.EndTxn, (short)0, (short)5),
            (ApiKey.WriteTxnMarkers, (short)0, (short)1), (ApiKey.TxnOffsetCommit, (short)0, (short)4),
            (ApiKey.DescribeAcls, (short)1, (short)3), (ApiKey.CreateAcls, (short)1, (short)3), (ApiKey.DeleteAcls, (short)1, (short)3),
            (ApiKey.DescribeConfigs, (short)0, (short)4), (ApiKey.AlterConfigs, (short)0, (short)2), (ApiKey.DescribeLogDirs, (short)1, (short)4), (ApiKey.SaslAuthenticate, (short)0, (short)2), (ApiKey.CreatePartitions, (short)0, (short)3),
            (ApiKey.DeleteGroups, (short)0, (short)2), (ApiKey.ElectLeaders, (short)0, (short)2), (ApiKey.IncrementalAlterConfigs, (short)0, (short)1), (ApiKey.AlterPartitionReassignments, (short)0, (short)0), (ApiKey.ListPartitionReassignments, (short)0, (short)0), (ApiKey.OffsetDelete, (short)0, (short)0), (ApiKey.DescribeClientQuotas, (short)0, (short)1), (ApiKey.AlterClientQuotas, (short)0, (short)1), (ApiKey.DescribeUserScramCredentials, (short)0, (short)0), (ApiKey.AlterUserScramCredentials, (short)0, (short)0), (ApiKey.DescribeQuorum, (short)0, (short)2), (ApiKey.UpdateFeatures, (short)0, (short)2),
            (ApiKey.DescribeCluster, (short)0, (short)1), (ApiKey.DescribeProducers, (short)0, (short)0), (ApiKey.UnregisterBroker, (short)0, (short)0),
            (ApiKey.DescribeTransactions, (short)0, (short)0), (ApiKey.ListTransactions, (short)0, (short)1), (ApiKey.ConsumerGroupHeartbeat, (short)0, (short)1), (ApiKey.ConsumerGroupDescribe, (short)0, (short)0),
            (ApiKey.GetTelemetrySubscriptions, (short)0, (short)0), (ApiKey.PushTelemetry, (short)0, (short)0),
            (ApiKey.DescribeTopicPartitions, (short)0, (short)0),
        ], advertised);
        Assert.Equal(broker.Broker.Dispatcher.Served.Select(h => (h.ApiKey, h.MinVersion, h.MaxVersion)), advertised);
    }

    [Fact]
    public async Task Version3_RecordsClientSoftwareOnTheConnection()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        await client.RequestAsync<ApiVersionsResponse>(Request(), 3);
        Assert.Contains(broker.Logs.Lines, l => l.EventId == 302 && l.Message.Contains("samsa-tests 1.0.0"));
    }

    [Theory]
    [InlineData("", "1.0")]
    [InlineData("-leading-dash", "1.0")]
    [InlineData("name", "1.0 beta")]
    public async Task Version3_WithIllegalSoftwareName_GetsInvalidRequest(string name, string version)
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        var (_, response) = await client.RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = name, ClientSoftwareVersion = version }, 3);
        Assert.Equal((short)ErrorCode.InvalidRequest, response.ErrorCode);
    }

    [Fact]
    public async Task UnknownHigherVersion_IsAnsweredInV0WithUnsupportedVersion_AndTheConnectionStaysOpen()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        // A v9 request from a future client: header v2 and a body we cannot know.
        var frame = TestClient.EncodeRequest(Request(), 4, 31);
        BinaryPrimitives.WriteInt16BigEndian(frame.AsSpan(6), 9);
        await client.SendRawAsync(frame);

        var response = await client.ReadFrameAsync();
        Assert.NotNull(response);
        var (correlationId, body) = TestClient.ParseResponse<ApiVersionsResponse>(response, 0, 0);
        Assert.Equal(31, correlationId);
        Assert.Equal((short)ErrorCode.UnsupportedVersion, body.ErrorCode);
        var only = Assert.Single(body.ApiKeys);
        Assert.Equal(((short)ApiKey.ApiVersions, (short)0, (short)4), (only.ApiKey, only.MinVersion, only.MaxVersion));

        var (_, retried) = await client.RequestAsync<ApiVersionsResponse>(Request(), only.MaxVersion, 32);
        Assert.Equal((short)ErrorCode.None, retried.ErrorCode);
    }

    /// <summary>
    /// Issue 13: every key a Kafka 4.x broker listener advertises (the schemas' <c>listeners</c> include "broker"; keys
    /// whose only version is unstable are not advertised by Kafka either) is served, or listed with the issue that
    /// brings it in docs/UNSUPPORTED.md's "API keys not served yet" table; and nothing served is still listed there.
    /// </summary>
    [Fact]
    public async Task EveryApiKafkaAdvertises_IsServedOrListedHere()
    {
        await using var broker = await TestBroker.StartAsync();
        var served = broker.Broker.Dispatcher.Served.Select(h => h.ApiKey).ToHashSet();
        var listed = NotServedTable();
        var advertisedByKafka = ApiMessages.All.Where(k => RequestDispatcher.ServesBrokerListener(k)
            && !(ApiMessages.LatestVersionUnstable(k) && ApiMessages.LowestVersion(k) == ApiMessages.HighestVersion(k))).ToList();
        var missing = advertisedByKafka.Where(k => !served.Contains(k) && !listed.ContainsKey(k)).ToList();
        Assert.True(missing.Count == 0, $"Neither served nor listed in docs/UNSUPPORTED.md: {string.Join(", ", missing)}");
        var stale = listed.Keys.Where(served.Contains).ToList();
        Assert.True(stale.Count == 0, $"Served but still listed as not served in docs/UNSUPPORTED.md: {string.Join(", ", stale)}");
        var notKafkas = listed.Keys.Where(k => !advertisedByKafka.Contains(k)).ToList();
        Assert.True(notKafkas.Count == 0, $"Listed in docs/UNSUPPORTED.md but not a key Kafka advertises: {string.Join(", ", notKafkas)}");
        Assert.All(listed, row => Assert.Matches(@"^#\d+$", row.Value));
    }

    /// <summary>The rows "| Name | key | #issue |" of docs/UNSUPPORTED.md's "API keys not served yet" section, checked against the enum.</summary>
    private static Dictionary<ApiKey, string> NotServedTable()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(dir.FullName, "Samsa.slnx")))
        {
            dir = dir.Parent ?? throw new InvalidOperationException("Samsa.slnx not found above the test binaries");
        }
        var text = File.ReadAllText(Path.Combine(dir.FullName, "docs", "UNSUPPORTED.md"));
        var start = text.IndexOf("\n## API keys not served yet", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/UNSUPPORTED.md has no \"API keys not served yet\" section");
        var end = text.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var rows = new Dictionary<ApiKey, string>();
        foreach (var line in text[start..(end < 0 ? text.Length : end)].Split('\n'))
        {
            var cells = line.Split('|', StringSplitOptions.TrimEntries);
            if (cells.Length != 5 || !short.TryParse(cells[2], out var key))
            {
                continue;
            }
            Assert.True(Enum.TryParse<ApiKey>(cells[1], out var named) && (short)named == key, $"docs/UNSUPPORTED.md: {cells[1]} is not API key {key}");
            rows.Add(named, cells[3]);
        }
        Assert.NotEmpty(rows);
        return rows;
    }

    [Fact]
    public void EveryServedKey_IsABrokerApi_AndZooKeeperKeysNeverAre()
    {
        foreach (var key in ApiMessages.All)
        {
            var brokerApi = RequestDispatcher.ServesBrokerListener(key);
            if (key is ApiKey.LeaderAndIsr or ApiKey.StopReplica or ApiKey.UpdateMetadata or ApiKey.ControlledShutdown)
            {
                Assert.False(brokerApi, $"{key} must never be served");
            }
        }
        Assert.True(RequestDispatcher.ServesBrokerListener(ApiKey.Metadata));
    }
}
