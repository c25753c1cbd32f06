export default function Home() {
  return (
    <section data-testid="page-home">
      <h3>Hello from the edge widget</h3>
      <p>This widget is served by one script tag and released to every host page at once.</p>
    </section>
  );
}
