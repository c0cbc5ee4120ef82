using System.Buffers.Binary;
using Samsa.Protocol.Records;

namespace Samsa.Storage.ProducerState;

/// <summary>
/// A transaction marker read from its control batch (Kafka's <c>EndTransactionMarker</c>): the control record's key is
/// <c>int16 version, int16 type</c> (0 abort, 1 commit), its value <c>int16 version, int32 coordinatorEpoch</c>.
/// </summary>
public readonly record struct TransactionMarker(bool IsCommit, int CoordinatorEpoch)
{
    /// <summary>The marker in a control batch, or null for another control record (KRaft's leader change, snapshots) or a malformed one.</summary>
    public static TransactionMarker? TryRead(ReadOnlySpan<byte> batch, PooledBuffer scratch)
    {
        var view = new RecordBatchView(batch);
        foreach (var record in view.GetRecords(scratch))
        {
            if (record.KeyIsNull || record.Key.Length < 4 || record.ValueIsNull || record.Value.Length < 6)
            {
                return null;
            }
            var type = BinaryPrimitives.ReadInt16BigEndian(record.Key[2..]);
            if (type is not ((short)ControlRecordType.Abort or (short)ControlRecordType.Commit))
            {
                return null;
            }
            return new TransactionMarker(type == (short)ControlRecordType.Commit, BinaryPrimitives.ReadInt32BigEndian(record.Value[2..]));
        }
        return null;
    }
}
