namespace Samsa.Metadata.Image;

/// <summary>
/// The broker's current <see cref="MetadataImage"/> (Kafka's <c>KRaftMetadataCache</c>). Readers take
/// <see cref="Current"/> once per request and work on that immutable snapshot; the one writer publishes a
/// whole new image and then tells the listeners (the broker's log manager) what changed.
/// </summary>
public sealed class MetadataCache(MetadataImage initial)
{
    private MetadataImage _current = initial;

    public MetadataImage Current => Volatile.Read(ref _current);

    /// <summary>Called after every publish with the previous and the new image, on the publishing thread.</summary>
    public event Action<MetadataImage, MetadataImage>? Published;

    public void Publish(MetadataImage image)
    {
        var previous = Interlocked.Exchange(ref _current, image);
        Published?.Invoke(previous, image);
    }

    /// <summary>Completes once an image that satisfies <paramref name="condition"/> is current.</summary>
    public async Task WaitUntilAsync(Func<MetadataImage, bool> condition, CancellationToken cancellationToken)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check(MetadataImage previous, MetadataImage next)
        {
            if (condition(next))
            {
                reached.TrySetResult();
            }
        }
        Published += Check;
        try
        {
            Check(Current, Current);
            await reached.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            Published -= Check;
        }
    }
}
