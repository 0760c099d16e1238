//! Entry point of the playground page (built by Trunk from www/index.html).

fn main() {
    cachelab_web::start();
}
