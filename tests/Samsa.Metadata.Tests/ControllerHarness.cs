using Microsoft.Extensions.Time.Testing;
using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Metadata.Tests;

/// <summary>
/// A real <see cref="QuorumController"/> over a real <see cref="LocalMetadataLog"/> on a fake clock, with brokers
/// registered and moved through their lives by hand-built heartbeats: the bench for the partition-state tests
/// (AlterPartition, elections, reassignments).
/// </summary>
internal sealed class ControllerHarness : IDisposable
{
    public const string ClusterId = "partition-cluster";
    private readonly string _dir = Directory.CreateTempSubdirectory("samsa-partitions-").FullName;
    private readonly Dictionary<int, Uuid> _incarnations = [];

    public ControllerHarness(ControllerOptions? options = null)
    {
        Log = LocalMetadataLog.Open(_dir, new MetadataLogOptions());
        var (image, _) = Log.Load(MetadataImage.Empty(ClusterId));
        Cache = new MetadataCache(image);
        Options = (options ?? new ControllerOptions()) with { Time = Clock, Random = new Random(7) };
        Controller = new QuorumController(Log, Cache, Options);
    }

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public LocalMetadataLog Log { get; }

    public MetadataCache Cache { get; }

    public ControllerOptions Options { get; }

    public QuorumController Controller { get; }

    public MetadataImage Image => Cache.Current;

    public Dictionary<int, long> Epochs { get; } = [];

    public async Task<long> RegisterAsync(int id)
    {
        var incarnation = _incarnations.TryGetValue(id, out var known) ? known : _incarnations[id] = Uuid.Random();
        var response = await Controller.RegisterBrokerAsync(new BrokerRegistrationRequest
        {
            BrokerId = id,
            ClusterId = ClusterId,
            IncarnationId = incarnation,
            Listeners = [new() { Name = "PLAINTEXT", Host = "localhost", Port = (ushort)(9090 + id), SecurityProtocol = 0 }],
            Features = [.. FeatureControlManager.Supported.Select(f => new BrokerRegistrationRequest.Feature { Name = f.Key, MinSupportedVersion = f.Value.Min, MaxSupportedVersion = f.Value.Max })],
        }, default);
        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        Epochs[id] = response.BrokerEpoch;
        return response.BrokerEpoch;
    }

    public Task<BrokerHeartbeatResponse> HeartbeatAsync(int id, bool wantFence = false, bool wantShutDown = false) =>
        Controller.BrokerHeartbeatAsync(new BrokerHeartbeatRequest
        {
            BrokerId = id,
            BrokerEpoch = Epochs[id],
            CurrentMetadataOffset = Image.Offset,
            WantFence = wantFence,
            WantShutDown = wantShutDown,
        }, default);

    /// <summary>Registers the brokers and heartbeats each once, caught up, so all are unfenced.</summary>
    public async Task StartBrokersAsync(params int[] ids)
    {
        await Controller.BootstrapAsync(default);
        foreach (var id in ids)
        {
            await RegisterAsync(id);
        }
        foreach (var id in ids)
        {
            Assert.False((await HeartbeatAsync(id)).IsFenced);
        }
    }

    public async Task FenceAsync(int id) => Assert.True((await HeartbeatAsync(id, wantFence: true)).IsFenced);

    public async Task UnfenceAsync(int id) => Assert.False((await HeartbeatAsync(id)).IsFenced);

    /// <summary>Creates a topic with one partition per given replica list (the first replica leads).</summary>
    public async Task<TopicImage> CreateTopicAsync(string name, params int[][] assignments)
    {
        var response = await Controller.CreateTopicsAsync(new CreateTopicsRequest
        {
            Topics =
            [
                new()
                {
                    Name = name,
                    NumPartitions = -1,
                    ReplicationFactor = -1,
                    Assignments = [.. assignments.Select((replicas, i) => new CreateTopicsRequest.CreatableReplicaAssignment { PartitionIndex = i, BrokerIds = [.. replicas] })],
                },
            ],
        }, default);
        Assert.Equal((short)ErrorCode.None, response.Topics[0].ErrorCode);
        return Image.Topics[name];
    }

    public async Task SetTopicConfigAsync(string topic, string key, string? value)
    {
        var response = await Controller.IncrementalAlterConfigsAsync(new IncrementalAlterConfigsRequest
        {
            Resources =
            [
                new()
                {
                    ResourceType = (sbyte)ConfigResourceType.Topic,
                    ResourceName = topic,
                    Configs = [new() { Name = key, Value = value, ConfigOperation = (sbyte)(value is null ? 1 : 0) }],
                },
            ],
        }, default);
        Assert.Equal((short)ErrorCode.None, response.Responses[0].ErrorCode);
    }

    /// <summary>Commits records as they are, for states no request reaches (an unregistered broker, say).</summary>
    public Task WriteAsync(params MetadataRecord[] records) =>
        Controller.WriteAsync(_ => new ControllerResult<bool>(records, true), default);

    public PartitionImage Partition(string topic, int partition = 0) => Image.Partition(topic, partition)!;

    public void Dispose()
    {
        Controller.Dispose();
        Log.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
