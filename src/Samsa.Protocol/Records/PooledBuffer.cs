using System.Buffers;

namespace Samsa.Protocol.Records;

/// <summary>
/// A growable buffer rented from <see cref="ArrayPool{T}.Shared"/>; dispose returns it. Used for
/// (de)compression and batch building so hot paths do not allocate fresh arrays per batch.
/// </summary>
public sealed class PooledBuffer : IBufferWriter<byte>, IDisposable
{
    private byte[] _array;
    private int _length;

    public PooledBuffer(int initialCapacity = 4096)
    {
        _array = ArrayPool<byte>.Shared.Rent(Math.Max(initialCapacity, 256));
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
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _array.Length * 2));
        _array.AsSpan(0, _length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_array);
        _array = bigger;
    }

    public byte[] ToArray() => WrittenSpan.ToArray();

    public void Dispose()
    {
        var array = Interlocked.Exchange(ref _array, []);
        if (array.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
        _length = 0;
    }
}
