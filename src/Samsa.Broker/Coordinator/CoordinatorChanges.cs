namespace Samsa.Broker.Coordinator;

/// <summary>
/// The in-memory changes one write made to a shard, as undo steps (and steps deferred until the write commits).
/// </summary>
/// <remarks>
/// Kafka makes every shard structure a timeline collection and reverts the whole shard to the snapshot taken at
/// an offset. We record, per write, how to put back what it changed: a shard's state is a few dictionaries keyed
/// like its records (group id, group/topic/partition), so each replayed record knows the one entry it replaces,
/// and undoing a write is putting those entries back, newest first. Reverting to the snapshot before a write is
/// then undoing it and every later uncommitted write, which <see cref="CoordinatorContext{TRecord}"/> does.
/// Side effects that cannot be undone (failing a removed group's waiting requests) go in <see cref="OnCommit"/>.
/// Used only under the shard's lock.
/// </remarks>
public sealed class CoordinatorChanges
{
    private List<Action>? _undo;
    private List<Action>? _onCommit;

    /// <summary>Registers how to undo the change just made.</summary>
    public void OnRevert(Action undo) => (_undo ??= []).Add(undo);

    /// <summary>Runs <paramref name="action"/> once the write commits (never when it is reverted).</summary>
    public void OnCommit(Action action) => (_onCommit ??= []).Add(action);

    /// <summary>Undoes every registered change, newest first.</summary>
    internal void Revert()
    {
        if (_undo is null)
        {
            return;
        }
        for (var i = _undo.Count - 1; i >= 0; i--)
        {
            _undo[i]();
        }
        _undo = null;
        _onCommit = null;
    }

    internal void Commit()
    {
        _undo = null;
        if (_onCommit is { } actions)
        {
            _onCommit = null;
            foreach (var action in actions)
            {
                action();
            }
        }
    }
}
