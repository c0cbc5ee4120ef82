namespace Samsa.Broker.Transactions;

/// <summary>
/// The state of one transactional id at the transaction coordinator (Kafka's <c>TransactionState</c>). The numeric
/// value is the byte stored in <c>TransactionLogValue.TransactionStatus</c>, so it must never change.
/// </summary>
/// <remarks>
/// Transitions (the valid previous states are in <see cref="TransactionStates.ValidPreviousStates"/>):
/// <list type="bullet">
/// <item>Empty → Ongoing on AddPartitionsToTxn/AddOffsetsToTxn; → PrepareAbort on an EndTxn abort under TV2.</item>
/// <item>Ongoing → PrepareCommit/PrepareAbort on EndTxn; → Ongoing when more partitions are added; → PrepareEpochFence
/// when InitProducerId or the timeout sweep fences the producer (never written: it becomes PrepareAbort at once).</item>
/// <item>PrepareCommit/PrepareAbort → CompleteCommit/CompleteAbort once every partition has its marker.</item>
/// <item>Empty/CompleteCommit/CompleteAbort → Dead when the transactional id expires (a tombstone is written).</item>
/// </list>
/// </remarks>
public enum TransactionState : sbyte
{
    Empty = 0,
    Ongoing = 1,
    PrepareCommit = 2,
    PrepareAbort = 3,
    CompleteCommit = 4,
    CompleteAbort = 5,
    Dead = 6,
    PrepareEpochFence = 7,
}

/// <summary>Names, ids and transition rules of <see cref="TransactionState"/>.</summary>
public static class TransactionStates
{
    private static readonly TransactionState[] All =
    [
        TransactionState.Empty, TransactionState.Ongoing, TransactionState.PrepareCommit, TransactionState.PrepareAbort,
        TransactionState.CompleteCommit, TransactionState.CompleteAbort, TransactionState.Dead, TransactionState.PrepareEpochFence,
    ];

    /// <summary>The name DescribeTransactions and ListTransactions report, and ListTransactions filters on.</summary>
    public static string Name(this TransactionState state) => state switch
    {
        TransactionState.Empty => "Empty",
        TransactionState.Ongoing => "Ongoing",
        TransactionState.PrepareCommit => "PrepareCommit",
        TransactionState.PrepareAbort => "PrepareAbort",
        TransactionState.CompleteCommit => "CompleteCommit",
        TransactionState.CompleteAbort => "CompleteAbort",
        TransactionState.Dead => "Dead",
        TransactionState.PrepareEpochFence => "PrepareEpochFence",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    /// <summary>The state with a DescribeTransactions name (case-sensitive, as Kafka's <c>fromName</c>), or null.</summary>
    public static TransactionState? FromName(string name)
    {
        foreach (var state in All)
        {
            if (state.Name() == name)
            {
                return state;
            }
        }
        return null;
    }

    /// <summary>The state stored as <paramref name="id"/> in a TransactionLogValue; unknown ids throw as in Kafka.</summary>
    public static TransactionState FromId(sbyte id) =>
        id is >= 0 and <= 7
            ? (TransactionState)id
            : throw new InvalidDataException($"Unknown transaction state id {id} from the transaction status message");

    /// <summary>The states from which a transition into <paramref name="state"/> is legal.</summary>
    public static bool IsValidPreviousState(this TransactionState state, TransactionState previous) => state switch
    {
        TransactionState.Empty => previous is TransactionState.Empty or TransactionState.CompleteCommit or TransactionState.CompleteAbort,
        TransactionState.Ongoing => previous is TransactionState.Ongoing or TransactionState.Empty
            or TransactionState.CompleteCommit or TransactionState.CompleteAbort,
        TransactionState.PrepareCommit => previous is TransactionState.Ongoing,
        // TV2 lets a client that is unsure of the server's state abort from Empty and the Complete states.
        TransactionState.PrepareAbort => previous is TransactionState.Ongoing or TransactionState.PrepareEpochFence
            or TransactionState.Empty or TransactionState.CompleteCommit or TransactionState.CompleteAbort,
        TransactionState.CompleteCommit => previous is TransactionState.PrepareCommit,
        TransactionState.CompleteAbort => previous is TransactionState.PrepareAbort,
        TransactionState.Dead => previous is TransactionState.Empty or TransactionState.CompleteAbort or TransactionState.CompleteCommit,
        TransactionState.PrepareEpochFence => previous is TransactionState.Ongoing,
        _ => false,
    };

    /// <summary>Every state from which <paramref name="state"/> may be entered.</summary>
    public static IReadOnlyList<TransactionState> ValidPreviousStates(this TransactionState state) =>
        [.. All.Where(previous => state.IsValidPreviousState(previous))];

    /// <summary>Whether <c>transactional.id.expiration.ms</c> may remove an idle id in this state.</summary>
    public static bool IsExpirationAllowed(this TransactionState state) =>
        state is TransactionState.Empty or TransactionState.CompleteCommit or TransactionState.CompleteAbort;
}

/// <summary>
/// Kafka's <c>transaction.version</c> feature levels (KIP-890). TV1 stores TransactionLogValue at the flexible
/// version 1; TV2 bumps the producer epoch at the end of every transaction. A client's level is read off the request
/// version: EndTxn v5+ and AddPartitionsToTxn v4+ are TV2, everything earlier (and every AddOffsetsToTxn) TV0.
/// </summary>
public enum TransactionVersion : short
{
    TV0 = 0,
    TV1 = 1,
    TV2 = 2,
}

public static class TransactionVersions
{
    public static bool SupportsEpochBump(this TransactionVersion version) => version >= TransactionVersion.TV2;

    /// <summary>The TransactionLogValue version written at this cluster level: 1 (flexible) from TV1, 0 before.</summary>
    public static short LogValueVersion(this TransactionVersion version) => version >= TransactionVersion.TV1 ? (short)1 : (short)0;

    /// <summary>Kafka's <c>transactionVersionForEndTxn</c>.</summary>
    public static TransactionVersion ForEndTxn(short requestVersion) => requestVersion > 4 ? TransactionVersion.TV2 : TransactionVersion.TV0;

    /// <summary>Kafka's <c>transactionVersionForAddPartitionsToTxn</c>.</summary>
    public static TransactionVersion ForAddPartitionsToTxn(short requestVersion) =>
        requestVersion > 3 ? TransactionVersion.TV2 : TransactionVersion.TV0;

    /// <summary>A stored level; unknown levels throw, as Kafka's <c>fromFeatureLevel</c> does.</summary>
    public static TransactionVersion FromFeatureLevel(short level) =>
        level is >= 0 and <= 2
            ? (TransactionVersion)level
            : throw new InvalidDataException($"Unknown transaction.version feature level {level}");
}
