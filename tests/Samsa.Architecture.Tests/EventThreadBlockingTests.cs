using System.Reflection;
using Samsa.Architecture.Tests.CallGraph;

namespace Samsa.Architecture.Tests;

/// <summary>
/// Issue 12: no request path blocks a socket event thread. <c>samsa-server</c> runs request handlers inline on the
/// runtime's socket event threads, so a handler that waits on the disk or on another thread stalls every connection
/// sharing that thread. This reads the IL of the broker from the connection loop and every API handler, follows
/// every call that can run before the request hands work to another thread, and fails on any blocking API it
/// reaches that <see cref="Rules"/> does not excuse in writing.
/// </summary>
public sealed class EventThreadBlockingTests
{
    private static readonly Assembly[] Broker =
    [
        Assembly.Load("Samsa.Protocol"), Assembly.Load("Samsa.Storage"), Assembly.Load("Samsa.Metadata"), Assembly.Load("Samsa.Broker"),
    ];

    /// <summary>
    /// The allow-list. Every entry says why the call cannot hold the event thread, or why it is accepted for now
    /// (and then names the issue that removes it).
    /// </summary>
    private static BlockingRules Rules() => new BlockingRules()
        .Allow("Samsa.Broker.Network.KafkaConnection::StreamFor", "System.IO.FileStream::.ctor",
            "wraps a segment handle that is already open (no open(2), one fstat), once per handle, for sendfile")
        .Allow("Samsa.Storage.LogSegment::get_Handle", "System.IO.File::OpenHandle",
            "accepted for now: a segment's file is opened on its first read after start-up, once, then cached; follow-up: open on load")
        .Allow("Samsa.Storage.IndexFile`1::AppendEntry", "System.IO.File::OpenHandle",
            "accepted for now: the first entry in each 4 KiB page of a preallocated index is written with pwrite (once per ~2 MB "
            + "of log), because a store into an unallocated page of the mapping would be SIGBUS on a full disk; follow-up: keep "
            + "the active segment's index handle open")
        .Allow("Samsa.Storage.IndexFile`1/Mapping::Create", "System.IO.File::OpenHandle",
            "accepted for now: an index is mapped on its first use (Kafka's LazyIndex), once per segment; follow-up: map on load off the event thread")
        .Allow("Samsa.Storage.IndexFile`1/Mapping::Create", "System.IO.MemoryMappedFiles.MemoryMappedFile::CreateFromFile",
            "the same first-use mapping (mmap of a file already open)")
        .Allow("Samsa.Storage.IndexFile`1/Mapping::Create", "System.IO.MemoryMappedFiles.MemoryMappedFile::CreateViewAccessor",
            "the same first-use mapping")
        .Allow("Samsa.Storage.TransactionIndex::Append", "System.IO.FileStream::.ctor",
            "accepted for now: only an abort marker writes the transaction index, once per aborted transaction and partition, and only "
            + "WriteTxnMarkers writes markers (a client's control batch is refused before); follow-up: keep the active segment's index open")
        .Cut("Samsa.Storage.PartitionLog::AppendValidated", "Samsa.Storage.PartitionLog::FlushLocked",
            "accepted for now: only when a topic sets flush.messages (default: never); the user asked for an fsync before the ack, "
            + "and Kafka also flushes inside the append; follow-up: await the flush off the event thread")
        .Cut("Samsa.Storage.PartitionLog::MaybeRoll", "Samsa.Storage.PartitionLog::RollLocked",
            "accepted for now: a roll creates files once per segment.bytes (1 GiB) or segment.ms (7 days), as Kafka's append does; "
            + "follow-up: create the next segment ahead, off the event thread")
        .Cut("Samsa.Storage.PartitionLog::UpdateLeaderEpochs", "Samsa.Storage.Checkpoints.LeaderEpochFileCache::Assign",
            "accepted for now: the first append of a new leader epoch (once per partition and leader change) writes the epoch checkpoint; "
            + "follow-up: assign the epoch when the partition becomes leader, as Kafka's makeLeader does (maybeAssignEpochStartOffset)");

    private static IEnumerable<MethodNode> RequestEntryPoints(IlCallGraph graph) =>
        graph.Methods("Samsa.Broker.Network.KafkaConnection", "RunAsync")
            .Concat(graph.Methods("Samsa.Broker.Handlers.RequestDispatcher", "HandleAsync"))
            .Concat(graph.Subtypes("Samsa.Broker.Handlers.IApiHandler").SelectMany(t => graph.Methods(t, "HandleAsync").Concat(graph.Methods(t, "ErrorResponse"))));

    [Fact]
    public void RequestPaths_CallNoBlockingApi()
    {
        var graph = new IlCallGraph(Broker);
        var entries = RequestEntryPoints(graph).ToList();
        Assert.True(entries.Count > 30, $"Found only {entries.Count} entry points: the handler types moved?");
        var rules = Rules();
        var findings = graph.FindBlockingCalls(entries, rules);
        Assert.True(findings.Count == 0,
            $"{findings.Count} blocking call(s) reachable from a request handler on a socket event thread:\n  "
            + string.Join("\n  ", findings.Select(f => f.ToString())));
        Assert.Empty(rules.UnusedAllowances);
    }

    /// <summary>The check can fail: it finds blocking calls planted in a fixture, and leaves the one handed to an event queue alone.</summary>
    [Fact]
    public void PlantedBlockingCalls_AreFound()
    {
        var graph = new IlCallGraph([typeof(Fixtures.PlantedBlockingHandler).Assembly]);
        var entries = graph.Methods(typeof(Fixtures.PlantedBlockingHandler).FullName!, "HandleAsync")
            .Concat(graph.Methods(typeof(Fixtures.PlantedBlockingHandler).FullName!, "OffThreadAsync"))
            .Concat(graph.Methods(typeof(Fixtures.PlantedBlockingHandler).FullName!, "SyncOverAsync"))
            .Concat(graph.Methods(typeof(Fixtures.PlantedBlockingHandler).FullName!, "SleepInLambda"))
            .ToList();
        Assert.Equal(4, entries.Count);
        var findings = graph.FindBlockingCalls(entries, new BlockingRules());
        const string Type = "Samsa.Architecture.Tests.Fixtures.PlantedBlockingHandler";
        var found = findings.Select(f => $"{f.Caller} {f.Api}").ToHashSet();
        Assert.Contains($"{Type}::Rename System.IO.File::Move", found);
        Assert.Contains($"{Type}::SyncOverAsync System.Runtime.CompilerServices.TaskAwaiter`1::GetResult", found);
        Assert.Contains($"{Type}::SleepInLambda System.Threading.Thread::Sleep", found);
        Assert.DoesNotContain(findings, f => f.Caller == $"{Type}::OffThreadAsync");
        var rename = Assert.Single(findings, f => f.Api == "System.IO.File::Move");
        Assert.Equal([$"{Type}::HandleAsync", $"{Type}::HandleAsync", $"{Type}::Rename"], rename.Path);
    }

    /// <summary>An allow-list entry excuses exactly its call.</summary>
    [Fact]
    public void AllowList_ExcusesOnlyItsCall()
    {
        var graph = new IlCallGraph([typeof(Fixtures.PlantedBlockingHandler).Assembly]);
        const string Type = "Samsa.Architecture.Tests.Fixtures.PlantedBlockingHandler";
        var rules = new BlockingRules().Allow($"{Type}::Rename", "System.IO.File::Move", "fixture");
        var findings = graph.FindBlockingCalls(graph.Methods(Type, "HandleAsync"), rules);
        Assert.Empty(findings);
        Assert.Empty(rules.UnusedAllowances);
    }

    /// <summary>A continuation asking to run synchronously would run on the completing thread: the boundary rule for ContinueWith relies on none doing so.</summary>
    [Fact]
    public void Sources_DoNotRunContinuationsSynchronously()
    {
        var root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));
        var offenders = Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Where(f => File.ReadAllText(f).Contains("ExecuteSynchronously", StringComparison.Ordinal));
        Assert.Empty(offenders);
    }
}
