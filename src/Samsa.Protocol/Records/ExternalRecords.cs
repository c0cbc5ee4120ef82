using System.Buffers;

namespace Samsa.Protocol.Records;

/// <summary>
/// Record bytes that live outside managed memory (a region of a segment file). Handed out as
/// <see cref="MemoryManager{T}.Memory"/>, they fill a message's records field like any other bytes; a
/// <see cref="ProtocolWriter"/> built with an external-slice list leaves them out of the frame so the network
/// layer can send them from their source (sendfile). Anything else that reads the memory gets the bytes copied
/// in on first use, so the message stays correct wherever it goes.
/// </summary>
public abstract class ExternalRecords : MemoryManager<byte>
{
    /// <summary>Number of record bytes.</summary>
    public abstract int Length { get; }
}

/// <summary>Where a writer left external records out: the position in the written bytes where they belong.</summary>
public readonly record struct ExternalSlice(int Position, ExternalRecords Source, int Start, int Length);
