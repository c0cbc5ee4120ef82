using Microsoft.Win32.SafeHandles;

namespace Samsa.Storage;

/// <summary>
/// A byte range of a segment file that a network layer can send as is (sendfile where the platform has it).
/// The handle stays open until the segment is deleted, which happens at least <c>file.delete.delay.ms</c>
/// after it left the log, so an in-flight response can finish with it.
/// </summary>
public readonly record struct FileRegion(SafeFileHandle Handle, string Path, long Position, int Length)
{
    public static FileRegion Empty { get; } = new(new SafeFileHandle(), string.Empty, 0, 0);

    public bool IsEmpty => Length == 0;

    /// <summary>Copies the region into <paramref name="destination"/> (tests, the follower path, tools).</summary>
    public int CopyTo(Span<byte> destination)
    {
        if (Length == 0)
        {
            return 0;
        }
        var total = 0;
        while (total < Length)
        {
            var read = RandomAccess.Read(Handle, destination.Slice(total, Length - total), Position + total);
            if (read == 0)
            {
                break;
            }
            total += read;
        }
        return total;
    }

    public byte[] ToArray()
    {
        var bytes = new byte[Length];
        var read = CopyTo(bytes);
        return read == Length ? bytes : bytes[..read];
    }
}
