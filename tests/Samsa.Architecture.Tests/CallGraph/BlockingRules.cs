namespace Samsa.Architecture.Tests.CallGraph;

/// <summary>
/// What counts as blocking a thread, what hands work to another thread, and the commented exceptions. Names are
/// <c>Namespace.Type::Method</c> (nested types with '/', generic types with their arity, e.g. <c>Task`1</c>).
/// </summary>
public sealed class BlockingRules
{
    /// <summary>
    /// BCL calls that hold the calling thread: synchronous waits, sleeps, fsync, file-system metadata (open, create,
    /// rename, delete, list), synchronous network and process calls. An entry ending in "::" covers every member.
    /// Reading and writing an open file at an offset (<c>RandomAccess.Read/Write</c>, pread/pwrite) is not listed: it
    /// is page-cache work, what Kafka's handlers do too; its fsync is.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Blocking = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["System.Threading.Thread::Sleep"] = "sleeps",
        ["System.Threading.Thread::Join"] = "waits for a thread",
        ["System.Threading.Tasks.Task::Wait"] = "synchronous wait",
        ["System.Threading.Tasks.Task::WaitAll"] = "synchronous wait",
        ["System.Threading.Tasks.Task::WaitAny"] = "synchronous wait",
        ["System.Threading.Tasks.Task`1::get_Result"] = "synchronous wait",
        ["System.Threading.Tasks.ValueTask`1::get_Result"] = "synchronous wait",
        ["System.Runtime.CompilerServices.TaskAwaiter::GetResult"] = "GetAwaiter().GetResult() without await",
        ["System.Runtime.CompilerServices.TaskAwaiter`1::GetResult"] = "GetAwaiter().GetResult() without await",
        ["System.Runtime.CompilerServices.ValueTaskAwaiter::GetResult"] = "GetAwaiter().GetResult() without await",
        ["System.Runtime.CompilerServices.ValueTaskAwaiter`1::GetResult"] = "GetAwaiter().GetResult() without await",
        ["System.Threading.SemaphoreSlim::Wait"] = "synchronous wait",
        ["System.Threading.Monitor::Wait"] = "synchronous wait",
        ["System.Threading.ManualResetEventSlim::Wait"] = "synchronous wait",
        ["System.Threading.CountdownEvent::Wait"] = "synchronous wait",
        ["System.Threading.Barrier::SignalAndWait"] = "synchronous wait",
        ["System.Threading.SpinWait::SpinUntil"] = "spins until a condition",
        ["System.Threading.WaitHandle::WaitOne"] = "synchronous wait",
        ["System.Threading.WaitHandle::WaitAll"] = "synchronous wait",
        ["System.Threading.WaitHandle::WaitAny"] = "synchronous wait",
        ["System.Collections.Concurrent.BlockingCollection`1::Take"] = "synchronous wait",
        ["System.IO.RandomAccess::FlushToDisk"] = "fsync",
        ["System.IO.RandomAccess::SetLength"] = "ftruncate (file-system metadata)",
        ["System.IO.FileStream::Flush"] = "Flush(true) is fsync; Flush() writes",
        ["System.IO.FileStream::.ctor"] = "opens or creates a file",
        ["System.IO.File::"] = "file-system metadata (open, create, rename, delete, stat)",
        ["System.IO.Directory::"] = "file-system metadata (create, rename, delete, list)",
        ["System.IO.FileInfo::"] = "file-system metadata",
        ["System.IO.DirectoryInfo::"] = "file-system metadata",
        ["System.IO.FileSystemInfo::"] = "file-system metadata",
        ["System.IO.MemoryMappedFiles.MemoryMappedFile::"] = "maps a file",
        ["System.IO.Stream::Flush"] = "synchronous stream flush",
        ["System.IO.Stream::CopyTo"] = "synchronous stream copy",
        ["System.Net.Dns::GetHostEntry"] = "synchronous DNS",
        ["System.Net.Dns::GetHostAddresses"] = "synchronous DNS",
        ["System.Net.Sockets.Socket::Connect"] = "synchronous socket call",
        ["System.Net.Sockets.Socket::Accept"] = "synchronous socket call",
        ["System.Net.Sockets.Socket::Send"] = "synchronous socket call",
        ["System.Net.Sockets.Socket::Receive"] = "synchronous socket call",
        ["System.Net.Sockets.Socket::SendFile"] = "synchronous socket call",
        ["System.Diagnostics.Process::WaitForExit"] = "synchronous wait",
        ["System.Console::"] = "console I/O can block on a full pipe",
    };

    /// <summary>
    /// Calls whose delegate arguments run on another thread, so what those delegates call is not on the caller's
    /// path. A continuation is queued to its scheduler unless it asks for ExecuteSynchronously, which no source of
    /// ours does (checked by <see cref="EventThreadBlockingTests.Sources_DoNotRunContinuationsSynchronously"/>).
    /// </summary>
    public static readonly IReadOnlySet<string> Boundaries = new HashSet<string>(StringComparer.Ordinal)
    {
        "Samsa.Metadata.EventQueue::RunAsync",
        // Runs the group request on the coordinator's event queue.
        "Samsa.Broker.Groups.GroupCoordinator::RunAsync",
        // Runs a coordinator operation (group or transaction) on the runtime's event queue.
        "Samsa.Broker.Coordinator.CoordinatorRuntime`2::RunAsync",
        "System.Threading.Tasks.Task::Run",
        "System.Threading.Tasks.TaskFactory::StartNew",
        "System.Threading.Tasks.TaskFactory`1::StartNew",
        "System.Threading.ThreadPool::QueueUserWorkItem",
        "System.Threading.ThreadPool::UnsafeQueueUserWorkItem",
        "System.Threading.Tasks.Task::ContinueWith",
        "System.Threading.Tasks.Task`1::ContinueWith",
        "System.Threading.Timer::.ctor",
        "System.TimeProvider::CreateTimer",
        "System.Threading.Thread::.ctor",
        // Coordinator timeouts run on the timer's thread pool callback, never inside Schedule.
        "Samsa.Broker.Groups.CoordinatorTimer::Schedule",
    };

    private readonly List<(string Caller, string Api, string Why)> _allowed = [];
    private readonly List<(string Caller, string Target, string Why)> _cuts = [];

    /// <summary>Excuses <paramref name="api"/> when called from <paramref name="caller"/> (a source name, Type::Method), for the reason given.</summary>
    public BlockingRules Allow(string caller, string api, string why)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(why);
        _allowed.Add((caller, api, why));
        return this;
    }

    /// <summary>Does not follow <paramref name="caller"/>'s calls into our <paramref name="target"/> (Type::Method), for the reason given.</summary>
    public BlockingRules Cut(string caller, string target, string why)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(why);
        _cuts.Add((caller, target, why));
        return this;
    }

    /// <summary>Allow-list entries that excused nothing: a stale entry must go (the list stays the truth).</summary>
    public HashSet<string> UsedAllowances { get; } = new(StringComparer.Ordinal);

    public IEnumerable<string> UnusedAllowances =>
        _allowed.Select(a => $"{a.Caller} -> {a.Api}").Concat(_cuts.Select(c => $"{c.Caller} -> {c.Target}")).Where(a => !UsedAllowances.Contains(a));

    public static bool IsAwaiter(string type) =>
        type.StartsWith("System.Runtime.CompilerServices.", StringComparison.Ordinal) && type.Contains("Awaiter", StringComparison.Ordinal)
        && !type.Contains("YieldAwaitable", StringComparison.Ordinal);

    public bool IsBoundary(string api) => Boundaries.Contains(api);

    public string? BlockingReason(string api, int parameterCount)
    {
        if (Blocking.TryGetValue(api, out var reason))
        {
            // Flush() on a FileStream writes its buffer; only Flush(true) syncs to disk. Both count: neither belongs
            // on a request path, where files are written with pwrite.
            return reason;
        }
        var type = api[..(api.IndexOf("::", StringComparison.Ordinal) + 2)];
        return Blocking.TryGetValue(type, out reason) ? reason : null;
    }

    public bool IsAllowed(string caller, string api)
    {
        foreach (var (allowedCaller, allowedApi, _) in _allowed)
        {
            if (caller == allowedCaller && api == allowedApi)
            {
                UsedAllowances.Add($"{allowedCaller} -> {allowedApi}");
                return true;
            }
        }
        return false;
    }

    public bool IsCut(string caller, string target)
    {
        foreach (var (cutCaller, cutTarget, _) in _cuts)
        {
            if (caller == cutCaller && target == cutTarget)
            {
                UsedAllowances.Add($"{cutCaller} -> {cutTarget}");
                return true;
            }
        }
        return false;
    }
}
