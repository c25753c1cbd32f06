export default function About() {
  return (
    <section data-testid="page-about">
      <h3>About</h3>
      <p>Each build lives under its own path; a viewer only ever loads one build's chunks.</p>
    </section>
  );
}
