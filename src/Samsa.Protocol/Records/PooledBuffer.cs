using System.Buffers;

namespace Samsa.Protocol.Records;

/// <summary>
/// A growable buffer rented from <see cref="ArrayPool{T}.Shared"/>; dispose returns it. Used for
/// (de)compression and batch building so hot paths do not allocate fresh arrays per batch.
/// </summary>
/// <remarks>
/// Arrays above <see cref="MaxPooledLength"/> are allocated and left to the collector instead: the shared pool keeps
/// what it is given (one array per size per thread, more per core), so a single 1 GB decompression bomb refused at
/// 128 MiB would otherwise stay resident for good. Normal batches stay far below the cap.
/// </remarks>
public sealed class PooledBuffer : IBufferWriter<byte>, IDisposable
{
    /// <summary>The largest array taken from and returned to the shared pool.</summary>
    public const int MaxPooledLength = 8 * 1024 * 1024;

    private byte[] _array;
    private int _length;

    public PooledBuffer(int initialCapacity = 4096)
    {
        _array = Rent(Math.Max(initialCapacity, 256));
    }

    public int Length => _length;

    public Span<byte> WrittenSpan => _array.AsSpan(0, _length);

    public ReadOnlyMemory<byte> WrittenMemory => _array.AsMemory(0, _length);

    public void Clear() => _length = 0;

    public void Advance(int count)
    {
        if (count < 0 || _length + count > _array.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }
        _length += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsMemory(_length);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsSpan(_length);
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        _length += bytes.Length;
    }

    private void Ensure(int sizeHint)
    {
        var needed = _length + Math.Max(sizeHint, 1);
        if (needed <= _array.Length)
        {
            return;
        }
        var bigger = Rent((int)Math.Min(Math.Max(needed, _array.Length * 2L), Array.MaxLength));
        _array.AsSpan(0, _length).CopyTo(bigger);
        Return(_array);
        _array = bigger;
    }

    private static byte[] Rent(int length) =>
        length <= MaxPooledLength ? ArrayPool<byte>.Shared.Rent(length) : GC.AllocateUninitializedArray<byte>(length);

    private static void Return(byte[] array)
    {
        if (array.Length is > 0 and <= MaxPooledLength)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    public byte[] ToArray() => WrittenSpan.ToArray();

    public void Dispose()
    {
        Return(Interlocked.Exchange(ref _array, []));
        _length = 0;
    }
}
