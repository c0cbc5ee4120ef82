using System.Buffers.Binary;
using System.Text;
using Samsa.Protocol;
using Samsa.Protocol.Records;

namespace Samsa.Cli.DumpLog;

/// <summary>
/// Kafka's <c>DumpLogSegments.printControlRecord</c>: a control record's key is <c>int16 version | int16 type</c>
/// (<c>ControlRecordType</c>); its value is <c>int16 version | body</c>. Transaction markers print as
/// <c> endTxnMarker: COMMIT coordinatorEpoch: N</c>, KRaft control records as their JSON.
/// </summary>
internal static class ControlRecordText
{
    public static void Append(StringBuilder line, Record record)
    {
        if (record.KeyIsNull || record.Key.Length < 4)
        {
            line.Append(" controlType: UNKNOWN(-1)");
            return;
        }
        var type = BinaryPrimitives.ReadInt16BigEndian(record.Key[2..]);
        var (label, schema) = type switch
        {
            0 or 1 => ("", ""),
            2 => (" LeaderChange: ", "LeaderChangeMessage"),
            3 => (" SnapshotHeader ", "SnapshotHeaderRecord"),
            4 => (" SnapshotFooter ", "SnapshotFooterRecord"),
            5 => (" KRaftVersion ", "KRaftVersionRecord"),
            6 => (" KRaftVoters ", "VotersRecord"),
            _ => (null, null),
        };
        if (label is null || schema is null)
        {
            line.Append($" controlType: UNKNOWN({type})");
            return;
        }
        var reader = new ProtocolReader(record.ValueIsNull ? default : record.Value);
        var version = reader.ReadInt16();
        if (schema == "")
        {
            // EndTransactionMarker: int16 version | int32 coordinatorEpoch.
            line.Append($" endTxnMarker: {(type == 0 ? "ABORT" : "COMMIT")} coordinatorEpoch: {reader.ReadInt32()}");
            return;
        }
        line.Append(label).Append(JacksonText.Write(MessageSchema.Get("messages", schema).Read(ref reader, version)));
    }
}
