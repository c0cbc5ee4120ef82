namespace Samsa.Metadata;

/// <summary>Marker for the metadata room: metadata records applied to an immutable image.</summary>
public static class MetadataAssembly;
