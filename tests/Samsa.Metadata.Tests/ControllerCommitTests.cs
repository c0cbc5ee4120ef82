using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Metadata.Tests;

/// <summary>
/// The controller's commit is asynchronous: it appends and moves on, its own image sees the change at once, and the
/// caller (and the node's published image) only once the log commits. A log that fails fails the waiting callers.
/// </summary>
public sealed class ControllerCommitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("samsa-controller-commit-").FullName;

    private static CreateTopicsRequest Create(string name) => new() { Topics = [new() { Name = name, NumPartitions = 1, ReplicationFactor = 1 }] };

    /// <summary>A real local metadata log whose commit notifications the test holds back and lets go.</summary>
    private sealed class HeldCommits : IMetadataLog, IMetadataLogListener
    {
        private readonly LocalMetadataLog _inner;
        private readonly List<IMetadataLogListener> _listeners = [];
        private readonly Queue<MetadataBatch> _held = new();
        private readonly Lock _lock = new();
        private bool _holding = true;

        public HeldCommits(LocalMetadataLog inner)
        {
            _inner = inner;
            inner.Register(this);
        }

        public long EndOffset => _inner.EndOffset;

        public long Append(IReadOnlyList<MetadataRecord> records) => _inner.Append(records);

        public void Register(IMetadataLogListener listener) => _listeners.Add(listener);

        public void MaybeSnapshot(MetadataImage image) => _inner.MaybeSnapshot(image);

        public void HandleCommit(MetadataBatch batch)
        {
            lock (_lock)
            {
                if (_holding)
                {
                    _held.Enqueue(batch);
                    return;
                }
            }
            Deliver(batch);
        }

        public void HandleFailure(Exception error) => _listeners.ForEach(l => l.HandleFailure(error));

        /// <summary>Hands the held commits on and stops holding.</summary>
        public void Release()
        {
            MetadataBatch[] held;
            lock (_lock)
            {
                _holding = false;
                held = [.. _held];
                _held.Clear();
            }
            foreach (var batch in held)
            {
                Deliver(batch);
            }
        }

        public int Held
        {
            get
            {
                lock (_lock)
                {
                    return _held.Count;
                }
            }
        }

        private void Deliver(MetadataBatch batch) => _listeners.ForEach(l => l.HandleCommit(batch));

        public void Dispose() => _inner.Dispose();
    }

    private (QuorumController Controller, MetadataCache Cache, HeldCommits Log) Open()
    {
        var inner = LocalMetadataLog.Open(_dir, new MetadataLogOptions());
        var (image, _) = inner.Load(MetadataImage.Empty("cluster"));
        var cache = new MetadataCache(image.WithBroker(new BrokerRegistration(1, [new BrokerEndpoint("PLAINTEXT", "localhost", 9092)], null)));
        var log = new HeldCommits(inner);
        return (new QuorumController(log, cache, new ControllerOptions()), cache, log);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task Callers_WaitForTheCommit_WhileTheControllerAlreadyDecidesOnItsUncommittedImage()
    {
        var (controller, cache, log) = Open();
        using var _ = log;
        using var __ = controller;

        var first = controller.CreateTopicsAsync(Create("orders"), default);
        await WaitForAsync(() => log.Held == 1);
        // Flushed but not yet reported committed: the caller waits and the node's image does not have it.
        Assert.False(first.IsCompleted);
        Assert.False(cache.Current.Topics.ContainsKey("orders"));

        // The controller's own image has it: the same name again is refused, and that answer, which writes nothing,
        // also waits for the write before it.
        var again = controller.CreateTopicsAsync(Create("orders"), default);
        var other = controller.CreateTopicsAsync(Create("payments"), default);
        await WaitForAsync(() => log.Held == 2);
        Assert.False(again.IsCompleted);
        Assert.False(other.IsCompleted);

        log.Release();
        Assert.Equal((short)ErrorCode.None, (await first).Topics[0].ErrorCode);
        Assert.Equal((short)ErrorCode.TopicAlreadyExists, (await again).Topics[0].ErrorCode);
        Assert.Equal((short)ErrorCode.None, (await other).Topics[0].ErrorCode);
        Assert.True(cache.Current.Topics.ContainsKey("orders"));
        Assert.True(cache.Current.Topics.ContainsKey("payments"));
    }

    [Fact]
    public async Task AFailedLog_FailsTheCallersWaitingForACommit_AndLaterOnes()
    {
        var (controller, cache, log) = Open();
        using var _ = log;
        using var __ = controller;

        var waiting = controller.CreateTopicsAsync(Create("orders"), default);
        await WaitForAsync(() => log.Held == 1);
        log.HandleFailure(new IOException("fsync failed"));

        var failure = await Assert.ThrowsAsync<IOException>(() => waiting);
        Assert.Equal("fsync failed", failure.InnerException!.Message);
        await Assert.ThrowsAsync<IOException>(() => controller.CreateTopicsAsync(Create("payments"), default));
        Assert.False(cache.Current.Topics.ContainsKey("orders"));
    }

    [Fact]
    public async Task ManyConcurrentWrites_AllCommit_InTheOrderTheyWereDecided()
    {
        var inner = LocalMetadataLog.Open(_dir, new MetadataLogOptions());
        var (image, _) = inner.Load(MetadataImage.Empty("cluster"));
        var cache = new MetadataCache(image.WithBroker(new BrokerRegistration(1, [new BrokerEndpoint("PLAINTEXT", "localhost", 9092)], null)));
        using (inner)
        {
            using var controller = new QuorumController(inner, cache, new ControllerOptions());
            var writes = Enumerable.Range(0, 200).Select(i => controller.CreateTopicsAsync(Create($"t{i}"), default)).ToArray();
            var responses = await Task.WhenAll(writes);
            Assert.All(responses, r => Assert.Equal((short)ErrorCode.None, r.Topics[0].ErrorCode));
            Assert.Equal(200, cache.Current.Topics.Count);
        }
        using var reopened = LocalMetadataLog.Open(_dir, new MetadataLogOptions());
        var (replayed, _) = reopened.Load(MetadataImage.Empty("cluster"));
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"t{i}").Order(StringComparer.Ordinal), replayed.Topics.Keys.Order(StringComparer.Ordinal));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
