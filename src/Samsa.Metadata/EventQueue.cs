using System.Collections.Concurrent;

namespace Samsa.Metadata;

/// <summary>
/// One dedicated thread running queued operations in order (Kafka's <c>KafkaEventQueue</c>, as used by its
/// <c>QuorumController</c>). Work that may block on the disk (an fsync, creating or renaming files) runs here, so a
/// request handler on a socket event thread only enqueues it and awaits the result without holding its thread.
/// Operations run one at a time, which also serialises them: whatever only this thread touches needs no lock.
/// </summary>
/// <remarks>
/// The returned tasks complete with <see cref="TaskCreationOptions.RunContinuationsAsynchronously"/>: the awaiting
/// handler resumes on the thread pool, never on the queue's thread, so one slow caller cannot hold up the queue.
/// </remarks>
public sealed class EventQueue : IDisposable
{
    private readonly BlockingCollection<Action> _events = new();
    private readonly Thread _thread;

    public EventQueue(string threadName)
    {
        _thread = new Thread(Run) { Name = threadName, IsBackground = true };
        _thread.Start();
    }

    /// <summary>True on the queue's own thread (assertions and tests).</summary>
    public bool IsQueueThread => Environment.CurrentManagedThreadId == _thread.ManagedThreadId;

    /// <summary>
    /// Queues <paramref name="operation"/> and returns its result. An operation whose token is cancelled before it
    /// starts is skipped; once started it runs to the end. After <see cref="Dispose"/> the task fails with
    /// <see cref="ObjectDisposedException"/>.
    /// </summary>
    public Task<T> RunAsync<T>(Func<T> operation, CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!TryAdd(() =>
        {
            if (cancellationToken.IsCancellationRequested)
            {
                done.TrySetCanceled(cancellationToken);
                return;
            }
            try
            {
                done.TrySetResult(operation());
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        }))
        {
            done.TrySetException(new ObjectDisposedException(_thread.Name));
        }
        return done.Task;
    }

    private bool TryAdd(Action action)
    {
        try
        {
            return _events.TryAdd(action);
        }
        catch (InvalidOperationException)
        {
            // Adding was completed (or the collection disposed, a subtype): the queue is stopping.
            return false;
        }
    }

    private void Run()
    {
        foreach (var action in _events.GetConsumingEnumerable())
        {
            action();
        }
    }

    /// <summary>Runs what is already queued, then stops the thread.</summary>
    public void Dispose()
    {
        if (_events.IsAddingCompleted)
        {
            return;
        }
        _events.CompleteAdding();
        if (!IsQueueThread)
        {
            _thread.Join();
        }
    }
}
