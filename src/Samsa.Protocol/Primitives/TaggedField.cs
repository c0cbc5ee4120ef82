namespace Samsa.Protocol;

/// <summary>A tagged field this version of the code does not know, kept so that it survives a read and a write.</summary>
public sealed record RawTaggedField(int Tag, byte[] Data)
{
    public bool Equals(RawTaggedField? other) => other is not null && Tag == other.Tag && Data.AsSpan().SequenceEqual(other.Data);

    public override int GetHashCode() => HashCode.Combine(Tag, Data.Length);
}
