using Microsoft.Extensions.Logging;
using Samsa.Metadata.Controller;
using Samsa.Protocol;

namespace Samsa.Broker.Transactions;

/// <summary>Thrown when no producer id can be handed out now: the controller has not given this broker a block.</summary>
public sealed class ProducerIdsUnavailableException(string message) : Exception(message);

/// <summary>
/// Hands out producer ids from blocks the controller allocates (Kafka's <c>RPCProducerIdManager</c>). Ids come from
/// the current block under a lock; when 90% of it is used the next block is asked for ahead of need, so the
/// controller's commit (an fsync of the metadata log) is normally done before anyone waits for it.
/// </summary>
/// <remarks>
/// <para>
/// Kafka's manager never waits: with the current block used up and the next not yet there it answers
/// COORDINATOR_LOAD_IN_PROGRESS and the client retries. Here the controller is in the same process, so a caller
/// awaits the block instead (the first InitProducerId after start-up, or one that outruns the prefetch); the wait is
/// an <c>await</c>, never a blocked thread, so a socket event thread stays free while the controller commits.
/// Only when the allocation fails does a caller get <see cref="ProducerIdsUnavailableException"/>, which the handler
/// turns into Kafka's retriable COORDINATOR_LOAD_IN_PROGRESS; the next caller asks the controller again.
/// </para>
/// <para>
/// Ids are only ever taken from blocks the controller committed, and blocks only move forward
/// (<see cref="ProducerIdControlManager"/>), so an id is never handed out twice, across restarts too. The ids left in
/// a block when the broker stops are never used, as in Kafka.
/// </para>
/// </remarks>
public sealed class ProducerIdManager
{
    /// <summary>Kafka's <c>ProducerIdManager.PID_PREFETCH_THRESHOLD</c>: the share of a block used before the next is asked for.</summary>
    public const double PrefetchThreshold = 0.90;

    private readonly Func<CancellationToken, Task<ProducerIdsAllocation>> _allocate;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();

    // Guarded by _lock.
    private ProducerIdsBlock _current;
    private long _nextId;
    private ProducerIdsBlock? _nextBlock;
    private Task? _inFlight;

    /// <param name="allocate">Asks the controller for the next block (in a combined node, <see cref="IController.AllocateProducerIdsAsync"/>).</param>
    public ProducerIdManager(Func<CancellationToken, Task<ProducerIdsAllocation>> allocate, ILogger logger)
    {
        _allocate = allocate;
        _logger = logger;
    }

    /// <summary>The next unused producer id; waits (asynchronously) only when no block is on hand.</summary>
    /// <exception cref="ProducerIdsUnavailableException">The controller refused or failed to allocate a block.</exception>
    public async ValueTask<long> GenerateProducerIdAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (TryTake(out var id))
                {
                    return id;
                }
                if (_inFlight is null || _inFlight.IsCompleted)
                {
                    _inFlight = FetchNextBlockAsync();
                }
                wait = _inFlight;
            }
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                if (TryTake(out var id))
                {
                    return id;
                }
                // The fetch this caller waited for is the latest, is over, and left nothing to take: it failed. (When a
                // newer fetch has started meanwhile, wait for that one instead.)
                if (_nextBlock is null && ReferenceEquals(_inFlight, wait))
                {
                    throw new ProducerIdsUnavailableException("The controller did not allocate a producer id block");
                }
            }
        }
    }

    /// <summary>Takes an id from the current block, moving to the prefetched block when the current one is used up. Under the lock.</summary>
    private bool TryTake(out long id)
    {
        if (_nextId >= _current.End && _nextBlock is { } next)
        {
            _current = next;
            _nextId = next.FirstProducerId;
            _nextBlock = null;
        }
        if (_nextId < _current.End)
        {
            id = _nextId++;
            if (id == _current.FirstProducerId + (long)(_current.Size * PrefetchThreshold) && _nextBlock is null
                && (_inFlight is null || _inFlight.IsCompleted))
            {
                _inFlight = FetchNextBlockAsync();
            }
            return true;
        }
        id = -1;
        return false;
    }

    /// <summary>One AllocateProducerIds round trip; never faults: a failure is logged and leaves no next block.</summary>
    private async Task FetchNextBlockAsync()
    {
        // Start the controller operation off the caller's lock and stack.
        await Task.Yield();
        try
        {
            // Not the request's token: the block serves every later caller, whoever asked first.
            var allocation = await _allocate(CancellationToken.None).ConfigureAwait(false);
            if (allocation.Error.Error != ErrorCode.None)
            {
                ProducerIdLog.AllocationRefused(_logger, allocation.Error.Error, allocation.Error.Message);
                return;
            }
            var block = allocation.Block;
            lock (_lock)
            {
                // Kafka's sanity checks (RPCProducerIdManager.sanityCheckResponse).
                if (block.FirstProducerId < _current.End)
                {
                    ProducerIdLog.BlockRejected(_logger, block.FirstProducerId, block.Size, $"not after the current block ending at {_current.End}");
                }
                else if (block.FirstProducerId < 0 || block.Size <= 0 || block.FirstProducerId > long.MaxValue - block.Size)
                {
                    ProducerIdLog.BlockRejected(_logger, block.FirstProducerId, block.Size, "not a valid id range");
                }
                else
                {
                    _nextBlock = block;
                    ProducerIdLog.BlockAllocated(_logger, block.FirstProducerId, block.End - 1);
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            ProducerIdLog.AllocationFailed(_logger, e);
        }
    }
}

/// <summary>Producer id allocation log lines; event ids 700-709 are stable.</summary>
internal static partial class ProducerIdLog
{
    [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "Allocated producer id block {First}-{Last}")]
    public static partial void BlockAllocated(ILogger logger, long first, long last);

    [LoggerMessage(EventId = 701, Level = LogLevel.Warning, Message = "The controller refused a producer id block: {Error} {Message}")]
    public static partial void AllocationRefused(ILogger logger, ErrorCode error, string? message);

    [LoggerMessage(EventId = 702, Level = LogLevel.Error, Message = "Producer id block starting at {First} of size {Size} ignored: {Reason}")]
    public static partial void BlockRejected(ILogger logger, long first, int size, string reason);

    [LoggerMessage(EventId = 703, Level = LogLevel.Warning, Message = "Allocating a producer id block failed")]
    public static partial void AllocationFailed(ILogger logger, Exception exception);
}
