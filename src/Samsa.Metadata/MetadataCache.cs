namespace Samsa.Metadata;

/// <summary>
/// The broker's current <see cref="MetadataImage"/> (Kafka's <c>KRaftMetadataCache</c>). Readers take
/// <see cref="Current"/> once per request and work on that immutable snapshot; the one writer publishes a
/// whole new image.
/// </summary>
public sealed class MetadataCache(MetadataImage initial)
{
    private MetadataImage _current = initial;

    public MetadataImage Current => Volatile.Read(ref _current);

    public void Publish(MetadataImage image) => Volatile.Write(ref _current, image);
}
